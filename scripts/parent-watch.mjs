// Preloaded (`node --import`) into every process `npm start` runs. The launcher starts its children in their
// own process group, so that a terminal's Ctrl-C reaches only the launcher, which then stops them in order.
// The price is that a launcher killed outright (SIGKILL, a crash) would leave them running: this closes
// that gap. The IPC channel to the launcher closes when it dies, and the child then stops itself with
// SIGTERM, through its own graceful shutdown. The channel is unref'd so it never keeps a child alive.
if (typeof process.send === "function") {
  process.on("disconnect", () => process.kill(process.pid, "SIGTERM"));
  setImmediate(() => process.channel?.unref());
}
