/** The --help texts, one per command. Kept beside each other so they read as one manual. */
const SETTINGS = `Settings (first found wins): --url / --api-key, then LLMQ_URL / LLMQ_API_KEY in the environment, then the
same in ./.env (an llmq checkout's own .env PORT and API_KEY are used when those are absent).
Default URL: http://localhost:8000.

Exit codes: 0 everything done (every item completed), 1 some items (or the job) failed or were cancelled,
2 usage error, bad input, a refused request, or llmq not reachable.`;

export const HELP: Record<string, string> = {
  main: `llmq: submit and follow llmq batches, download their results, run one request.

Usage:
  llmq batch submit FILE [--wait] [--out FILE] [--max-items N]
  llmq batch status ID...
  llmq batch results ID... [--out FILE]
  llmq batch retry ID... [--wait] [--out FILE]
  llmq batch cancel ID...
  llmq batch list [--limit N] [--cursor C] [--all]
  llmq run --model M --prompt TEXT [--type T] [--schema FILE] [--max-tokens N]

Every command takes --json (machine output on stdout), --url, --api-key and --help.

${SETTINGS}`,
  batch: `llmq batch: llmq's batches (POST /api/v1/batches and the routes under it).

Commands: submit, status, results, retry, cancel, list. "llmq batch <command> --help" for each.
Every command that makes or follows a batch prints its batch id(s) first, one per line (with --json, a
{"batch_ids": [...]} line). Progress goes to stderr; results and summaries to stdout.

${SETTINGS}`,
  submit: `llmq batch submit FILE [--wait] [--out FILE] [--max-items N] [--max-bytes N] [--interval MS]

FILE is llmq JSON ({"requests": [...], "metadata"?}), llmq NDJSON (one {custom_id, type, body} per line), or
OpenAI batch JSONL (one {custom_id, method, url, body} per line, body a Chat Completions request: sent as a
"chat" item when llmq takes those, else converted to a conversation item, or a structured one when
response_format is json_schema/json_object; fields with no llmq equivalent are dropped and reported).
A file with more items than one batch takes (--max-items, default 10000, llmq's BATCH_MAX_ITEMS default; lowered
by itself when llmq answers BATCH_TOO_LARGE with its limit) or more bytes (--max-bytes, default 60000000) is sent
as several batches, followed as one. A submit refused by the key's rate limit waits and tries again.

  --wait          follow the batches to the end: a live progress bar on a terminal (done, failed, rate, ETA),
                  plain progress lines otherwise (on stderr)
  --out FILE      with --wait: write every result line (NDJSON) to FILE when done (FILE is replaced)
  --interval MS   how often --wait polls (default 1000)

Exit code with --wait: 0 every item completed, 1 some failed or were cancelled (then: llmq batch retry ID).

${SETTINGS}`,
  status: `llmq batch status ID...

Prints each batch's status and counts (with --json: the batch objects). Exit code 1 when some items failed or
were cancelled so far, else 0.

${SETTINGS}`,
  results: `llmq batch results ID... [--out FILE]

Without --out, streams the result lines (NDJSON, one per item) to stdout. With --out, downloads into FILE and
resumes: a download that was cut (killed, connection lost) and run again ends with each custom_id exactly once
in FILE, with its current outcome (a partial last line is removed; lines already there are not fetched twice
into the file; a line whose item was retried since is replaced). Exit code 1 when some lines are not completed.

${SETTINGS}`,
  retry: `llmq batch retry ID... [--wait] [--out FILE] [--interval MS]

Runs the failed items of finished batches again, as new attempts of the same items (POST …/retry): the
batch goes back to in_progress and ends completed when they all succeed. A batch with nothing to retry is
reported and left as it is. --wait and --out as for submit, except that --out updates FILE in place (each
retried item's line replaced by its new outcome).

${SETTINGS}`,
  cancel: `llmq batch cancel ID...

Cancels the items not started yet; running ones finish. Prints each batch after the cancel.

${SETTINGS}`,
  list: `llmq batch list [--limit N] [--cursor C] [--all]

The key's batches, newest first, one page (--limit, 1-100, default 20) at a time: the next page's cursor is
printed last (with --json, as next_cursor). --all follows every page.

${SETTINGS}`,
  run: `llmq run --model MODEL --prompt TEXT [--type unstructured|structured|conversation] [--schema FILE] [--max-tokens N]

One request, waited for; prints the output (text, or the JSON value for structured). --prompt - reads stdin.
--schema FILE (a JSON Schema) makes it structured. With --json, prints the whole result object.
Exit code 0 done, 1 the job failed (provider error, output not valid against the schema, …), 2 refused or
usage error.

${SETTINGS}`,
};
