import type { RedisConnection, RedisScript } from "@llmq/shared";

/**
 * Calls of one batch script made in the same turn of the event loop, for the same batch, sent as one call of
 * the script. BullMQ hands a worker its jobs a Redis reply at a time, and a reply often carries several (every
 * finished job fetches the next one), so the items of a batch tend to start together and to finish together; a
 * script each cost a round trip and, in a batch drain, about a tenth of the worker's CPU per item.
 *
 * Invariants:
 * - the script (START_ITEMS_LUA, FINISH_ITEMS_LUA) applies to each item the step a script of its own would
 *   apply, in the order the calls were made, with nothing else running in Redis between them; its reply has
 *   one entry per item. Each step is idempotent per item (the batch's `state` hash), so a group whose call
 *   failed, its jobs retried, changes nothing twice;
 * - a call resolves only once its group's script answered (nothing runs on a step not yet stored); a script
 *   that fails fails every call of its group, each as a failed round trip of its own would have;
 * - a group waits only for the rest of the turn: it is sent in the check phase right after (setImmediate).
 *
 * A group is keyed by the batch's first script key (its meta key, prefix included); its shared ARGV head (now,
 * ttl, batch id) is the first call's. At most GROUP_MAX items go in one script.
 */
export const GROUP_MAX = 64;

type Args = (string | number)[];

interface Call {
  args: Args;
  resolve(reply: unknown): void;
  reject(err: unknown): void;
}

interface Group {
  scriptKeys: readonly string[];
  head: Args;
  calls: Call[];
}

export class StepGroups {
  private readonly waiting = new Map<string, Group>();
  private scheduled = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly script: RedisScript,
  ) {}

  /** One item's step: `head` is the script's shared ARGV (now, ttl, batch id), `item` this item's own. */
  call(scriptKeys: readonly string[], head: Args, item: Args): Promise<unknown> {
    const key = scriptKeys[0] ?? "";
    let group = this.waiting.get(key);
    if (group === undefined) this.waiting.set(key, (group = { scriptKeys, head, calls: [] }));
    const calls = group.calls;
    return new Promise((resolve, reject) => {
      calls.push({ args: item, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const groups = [...this.waiting.values()];
    this.waiting.clear();
    for (const g of groups) {
      for (let i = 0; i < g.calls.length; i += GROUP_MAX) void this.send(g, g.calls.slice(i, i + GROUP_MAX));
    }
  }

  private async send(group: Group, calls: Call[]): Promise<void> {
    try {
      const args: Args = [...group.head];
      for (const c of calls) args.push(...c.args);
      const replies = await this.script.run(this.redis, group.scriptKeys, args);
      if (!Array.isArray(replies) || replies.length !== calls.length) {
        throw new Error(`a batch script answered ${JSON.stringify(replies)?.slice(0, 200)} for ${calls.length} items`);
      }
      calls.forEach((c, i) => c.resolve(replies[i]));
    } catch (err) {
      for (const c of calls) c.reject(err);
    }
  }
}

/** One StepGroups per connection and script, for the module-level steps (a finish may come from any caller). */
const perConnection = new WeakMap<RedisConnection, Map<RedisScript, StepGroups>>();

export function stepGroups(redis: RedisConnection, script: RedisScript): StepGroups {
  let byScript = perConnection.get(redis);
  if (byScript === undefined) perConnection.set(redis, (byScript = new Map()));
  let groups = byScript.get(script);
  if (groups === undefined) byScript.set(script, (groups = new StepGroups(redis, script)));
  return groups;
}
