// Shutdown for the benchmark's server child processes: the runner forks them with an IPC channel.

/**
 * Stops this child when its runner goes away (IPC disconnect) or signals it: runs `dispose` once
 * (errors ignored, the process is exiting anyway), then exits with code 0.
 * @param {() => Promise<unknown>} dispose releases what the child holds, e.g. a Miniflare instance.
 */
export function stopWithRunner(dispose) {
  let stopping = false;
  async function stop() {
    if (stopping) return;
    stopping = true;
    await dispose().catch(() => {});
    process.exit(0);
  }
  process.on("disconnect", stop);
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
