import type { JobPayload } from "./job-catalog.js";

/**
 * A sync job of several requests: sync requests to one provider that reached an API while its previous add to
 * that provider's queue was on its way to Redis, added together as one BullMQ job (the API's
 * jobs/sync-groups.ts) and run side by side by one worker (the worker's sync-group.ts). Each request keeps its
 * own job id, record, log line and metrics; only BullMQ's add, fetch and finish are shared. Its members are
 * listed in keys.syncGrouped() while the job waits or runs.
 */
export const SYNC_GROUP_JOB = "sync-requests";

/** BullMQ job ids of sync jobs of several requests: never a request's own id (a UUID). */
export const SYNC_GROUP_ID_PREFIX = "sync-";

export interface SyncGroupMember {
  id: string;
  payload: JobPayload;
}

export interface SyncGroupData {
  members: SyncGroupMember[];
}

/** The value keys.syncGrouped() holds for a member: its provider queue and its shared job's id. */
export function syncGroupRef(provider: string, groupId: string): string {
  return `${provider} ${groupId}`;
}

export function parseSyncGroupRef(ref: string): { provider: string; groupId: string } | undefined {
  const space = ref.indexOf(" ");
  if (space <= 0 || space === ref.length - 1) return undefined;
  return { provider: ref.slice(0, space), groupId: ref.slice(space + 1) };
}
