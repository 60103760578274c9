// Child-process helpers for `npm start`: relaying output, stopping a part by its own PID (and what it
// left behind in its process group), and checking that a port is free before a part is started.
import { createServer } from "node:net";

/**
 * Prefixes each line of a child's output so the logs of the parts stay readable.
 * @param {import("node:stream").Readable} stream
 * @param {string} prefix e.g. "[worker]"; "" passes lines on as they are (whole lines only)
 * @param {NodeJS.WritableStream} sink
 * @param {RegExp} [skip] lines not worth showing
 */
export function relay(stream, prefix, sink, skip) {
  let partial = "";
  stream.setEncoding("utf8");
  stream.on("data", (text) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (!skip?.test(line)) sink.write(`${prefix}${prefix && " "}${line}\n`);
  });
  stream.on("end", () => {
    if (partial) sink.write(`${prefix}${prefix && " "}${partial}\n`);
  });
}

/** @param {import("node:child_process").ChildProcess} child */
export function hasExited(child) {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * Resolves with how the child ended (at once if it already has).
 * @param {import("node:child_process").ChildProcess} child
 * @returns {Promise<{ code: number | null, signal: NodeJS.Signals | null }>}
 */
export function exitOf(child) {
  if (hasExited(child)) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
}

/**
 * "exited with code 1" / "was killed by SIGKILL", for log lines.
 * @param {{ code: number | null, signal: NodeJS.Signals | null }} exit
 */
export function describeExit({ code, signal }) {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** @param {number} ms */
const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** @param {number} pid @param {NodeJS.Signals | 0} signal @returns {boolean} false when nothing was there */
function signalSafely(pid, signal) {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a child started with `detached: true` (so it leads its own process group): SIGTERM to its own
 * PID (never through npx, which would orphan workerd), SIGKILL to its group if it is still there after
 * `graceMs`. Then whatever is left of the group gets SIGKILL too: when the dev Worker itself was killed, its
 * workerd would otherwise live on holding the port. Waits (up to 5 s) until the group is empty.
 * @param {import("node:child_process").ChildProcess | undefined} child
 * @param {number} graceMs
 * @param {(line: string) => void} log
 * @param {string} name for the log line when SIGKILL is needed
 */
export async function stopProcessTree(child, graceMs, log, name) {
  if (!child?.pid) return;
  const group = -child.pid;
  if (!hasExited(child)) {
    signalSafely(child.pid, "SIGTERM");
    const ended = await Promise.race([exitOf(child).then(() => true), pause(graceMs).then(() => false)]);
    if (!ended) log(`${name} did not stop in ${graceMs / 1000} s: killing its process group`);
  }
  signalSafely(group, "SIGKILL");
  await exitOf(child);
  for (let waited = 0; waited < 5_000 && signalSafely(group, 0); waited += 50) await pause(50);
}

/**
 * Why `host:port` cannot be listened on right now (another program holds it), or undefined when it can.
 * @param {string} host
 * @param {number} port
 * @returns {Promise<string | undefined>}
 */
export function portProblem(host, port) {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", (/** @type {NodeJS.ErrnoException} */ error) =>
      resolve(error.code === "EADDRINUSE" ? `port ${host}:${port} is in use by another program` : `port ${host}:${port} cannot be used (${error.code ?? error.message})`),
    );
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(undefined)));
  });
}
