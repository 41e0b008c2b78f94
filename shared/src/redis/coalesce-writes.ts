import type { Socket } from "node:net";
import { Cluster, type Redis } from "ioredis";
import type { RedisConnection } from "./connections.js";

/**
 * Fewer, larger socket writes on a busy Redis connection. ioredis writes every command (and every
 * auto-pipeline, which gathers only the commands of one callback) to its socket at once. On loopback each
 * write(2) also delivers the bytes and wakes Redis, and that was measured as the largest single cost of a
 * worker at 50 jobs in flight (about a tenth of its CPU), then of the API.
 *
 * The rule is Nagle's, for a request/reply protocol: a write with nothing outstanding goes out at once; a
 * write while an earlier one still awaits its reply is held back, with everything written after it, until
 * reply bytes arrive (or HOLD_MAX_MS passes), and then all of it leaves in one writev. Invariants:
 * - a connection at rest adds no delay: its first command is written at once;
 * - a held command waits at most one round trip of the connection, and never longer than HOLD_MAX_MS;
 * - order on the connection is unchanged (cork only holds the bytes back; ioredis queues replies in order);
 * - it follows reconnects (a new socket is patched on `connect`) and, on a cluster, every node's connection;
 * - it is only for connections without blocking commands (a BRPOP's reply could come much later: HOLD_MAX_MS
 *   would then bound every command behind it). BullMQ's blocking reads have connections of their own.
 */
export const HOLD_MAX_MS = 2;

export function coalesceWrites(connection: RedisConnection): void {
  if (connection instanceof Cluster) {
    for (const node of connection.nodes()) coalesceWrites(node);
    connection.on("+node", (node: Redis) => coalesceWrites(node));
    return;
  }
  const patch = (): void => {
    const socket = (connection as unknown as { stream?: Socket }).stream;
    if (socket === undefined || PATCHED.has(socket)) return;
    PATCHED.add(socket);
    const write = socket.write;
    /** Bytes were written and no reply bytes have arrived since. */
    let awaiting = false;
    let held = false;
    let timer: NodeJS.Timeout | undefined;
    const flush = (): void => {
      if (!held) return;
      held = false;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      awaiting = true;
      socket.uncork();
    };
    socket.on("data", () => {
      awaiting = false;
      flush();
    });
    socket.once("close", flush);
    socket.write = function (this: Socket, ...args: unknown[]): boolean {
      if (!held && awaiting) {
        held = true;
        socket.cork();
        timer = setTimeout(flush, HOLD_MAX_MS);
      } else if (!held) {
        awaiting = true;
      }
      return (write as (...a: unknown[]) => boolean).apply(socket, args);
    } as Socket["write"];
  };
  connection.on("connect", patch);
  patch();
}

const PATCHED = new WeakSet<Socket>();
