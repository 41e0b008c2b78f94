// Streams are built as a list of ready-to-write SSE events first and paced afterwards (respond.ts),
// so wire formats stay free of timers and pacing stays free of formats.

/** One SSE event and the output tokens it carries, which the pacing in respond.ts spreads over time. */
export interface StreamPiece {
  data: string;
  tokens: number;
}

/** Word-sized pieces (long words and JSON sliced to 16 chars) whose concatenation is the text. */
export function splitPieces(text: string): string[] {
  const out: string[] = [];
  const re = /\s*\S+|\s+$/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const piece = m[0];
    if (piece.length <= 16) out.push(piece);
    else for (let i = 0; i < piece.length; i += 16) out.push(piece.slice(i, i + 16));
  }
  return out;
}
