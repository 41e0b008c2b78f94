/**
 * Preloaded (`node --import`) into a peer that listens on every interface when given only a port (the Portkey
 * gateway's `serve({ port })`): a listen on a bare port is bound to 127.0.0.1 instead, because anything a load
 * run starts must be reachable from this machine only.
 */
import { Server } from "node:net";

const listen = Server.prototype.listen;
Server.prototype.listen = function loopbackListen(this: Server, ...args: unknown[]): Server {
  if (typeof args[0] === "number" && (args[1] === undefined || args[1] === null || typeof args[1] === "function")) {
    args.splice(1, typeof args[1] === "function" ? 0 : 1, "127.0.0.1");
  }
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;
