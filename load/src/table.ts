/** One row of the bench table: column name -> cell text, every row with the same columns. */
export type TableRow = Record<string, string>;

/** A Markdown table with padded columns: readable in a terminal and pasteable into a README as it is. */
export function formatTable(rows: TableRow[]): string {
  const first = rows[0];
  if (first === undefined) return "";
  const columns = Object.keys(first);
  const width = columns.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? "").length)));
  const numeric = columns.map((c) => rows.every((r) => /^[-\d.,]*$|^n\/a$/.test(r[c] ?? "")));
  const line = (cells: string[]): string =>
    `| ${cells.map((cell, i) => (numeric[i] ? cell.padStart(width[i] ?? 0) : cell.padEnd(width[i] ?? 0))).join(" | ")} |`;
  const rule = `|${columns.map((_, i) => (numeric[i] ? `${"-".repeat((width[i] ?? 0) + 1)}:` : "-".repeat((width[i] ?? 0) + 2))).join("|")}|`;
  return [line(columns), rule, ...rows.map((r) => line(columns.map((c) => r[c] ?? "")))].join("\n");
}
