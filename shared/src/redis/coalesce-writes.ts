import type { Socket } from "node:net";
import { Cluster, type Redis } from "ioredis";
import type { RedisConnection } from "./connections.js";

/**
 * One socket write per event-loop turn instead of one per command. ioredis writes each command (and each
 * auto-pipeline, which only gathers the commands of one callback) to its socket at once; a busy process
 * handles many I/O callbacks per turn of the event loop (many jobs finishing, many requests arriving), and
 * each of their commands costs a write(2) of its own, with the loopback delivery that goes with it: measured,
 * the largest single cost of a worker at 50 jobs in flight. This corks the connection's socket at its first
 * write in a turn and uncorks it in that turn's check phase (setImmediate), so everything written meanwhile
 * leaves in one writev. Invariants:
 * - no command waits longer than the rest of the current turn (libuv does not block in poll while an
 *   immediate is pending);
 * - order on the connection is unchanged (cork only holds the bytes back);
 * - it follows reconnects (a new socket is patched on `connect`) and, on a cluster, every node's connection.
 */
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
    let corked = false;
    const flush = (): void => {
      corked = false;
      socket.uncork();
    };
    socket.write = function (this: Socket, ...args: unknown[]): boolean {
      if (!corked) {
        corked = true;
        socket.cork();
        setImmediate(flush);
      }
      return (write as (...a: unknown[]) => boolean).apply(socket, args);
    } as Socket["write"];
  };
  connection.on("connect", patch);
  patch();
}

const PATCHED = new WeakSet<Socket>();
