/** What the API's middleware puts on `res.locals`, for every handler after it. */
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Locals {
      requestId: string;
      /** The authenticated API key's name ("" before auth, and on routes that do not need a key). */
      owner: string;
      /** The job a job route answered about, for the access log. */
      jobId?: string;
      /** performance.now() when the request arrived. */
      startedAt: number;
    }
  }
}

export {};
