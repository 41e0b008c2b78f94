/**
 * The three ways a command ends, as exit codes a script can rely on:
 * 0 everything asked for is done (every item completed), 1 it ran but some items (or the one job) failed or were
 * cancelled, 2 it could not run: bad usage or input, a refusal of the request, or no answer from llmq.
 */
export const EXIT = { ok: 0, itemsFailed: 1, usage: 2 } as const;

/** Anything that ends a command with exit code 2, with the message to print. */
export class CliError extends Error {
  readonly exitCode: number = EXIT.usage;
}

/** Bad flags, arguments or input file. */
export class UsageError extends CliError {}

/** llmq did not answer (refused connection, DNS, timeout). */
export class ConnectionError extends CliError {}

/** llmq answered with an error: its stable code, message and details as the API sent them. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers?: Headers,
  ) {
    super(`${code}: ${message}`);
  }

  /** A job that ran and failed (its answer names the job), as opposed to a request refused before it ran. */
  get jobFailed(): boolean {
    return typeof this.details.job_id === "string";
  }
}
