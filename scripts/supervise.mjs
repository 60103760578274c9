// Keeps one part of the local stack (a child process: the dev Worker, the gateway) running: starts it, waits
// until it serves, watches it, and restarts it with exponential backoff when it dies or stops serving.
import { setTimeout as sleep } from "node:timers/promises";
import { describeExit, exitOf, hasExited, portProblem, stopProcessTree } from "./processes.mjs";

/**
 * Restart timing. Delays double from `firstDelayMs` up to `maxDelayMs`; a part that stayed up for
 * `stableMs` starts again from `firstDelayMs`. After `maxFailedStarts` starts in a row that never got
 * ready, the part is given up.
 */
export const RESTART_POLICY = { firstDelayMs: 500, maxDelayMs: 10_000, stableMs: 30_000, maxFailedStarts: 5 };

/**
 * @typedef {object} Part
 * @property {string} name for log lines: "Worker", "gateway"
 * @property {string} processName what `spawn` runs, for log lines: "Worker", "gateway" (named apart from `name` when they differ)
 * @property {string} host
 * @property {number} port the port it listens on; checked free before each start
 * @property {string} portSetting the environment variable that chooses `port` ("PORT")
 * @property {string} url where it serves, for the "is back" line
 * @property {string} logHint where its own output is, for messages: "the [worker] lines above"
 * @property {() => import("node:child_process").ChildProcess} spawn starts it, `detached: true`
 * @property {(child: import("node:child_process").ChildProcess, signal: AbortSignal) => Promise<void>} ready
 *   resolves once it serves (it keeps trying until `signal` aborts)
 * @property {number} readyTimeoutMs
 * @property {(child: import("node:child_process").ChildProcess, signal: AbortSignal) => Promise<string>} [watch]
 *   resolves with a reason once it stops serving although its process still runs
 * @property {number} stopGraceMs how long SIGTERM gets before SIGKILL
 */

/** A start that did not get the part serving: what went wrong, and what the operator should check. */
class StartFailure extends Error {
  /**
   * @param {string} message
   * @param {string} check
   * @param {boolean} [lasting] another program holds the port: at the first start nothing of ours can,
   *   so retrying will not help (after a crash, our old process may still be letting go of it)
   */
  constructor(message, check, lasting = false) {
    super(message);
    this.check = check;
    this.lasting = lasting;
  }
}

/** @param {number} ms */
const seconds = (ms) => `${Math.round(ms / 100) / 10} s`;

/**
 * One supervised part. `start()` brings it up; then a watcher restarts it whenever it goes down, logs
 * each restart (part, PID, how it ended, delay) through `log`, and calls `giveUp` with one message when
 * it cannot come back. `stop()` ends it and any restart in progress.
 */
export class Supervisor {
  /** @type {import("node:child_process").ChildProcess | undefined} */
  #child;
  #stopping = false;
  #abort = new AbortController();
  /** Restarts since the part last stayed up for `stableMs`: the exponent of the next delay. */
  #restarts = 0;

  /**
   * @param {Part} part
   * @param {{ log: (line: string) => void, giveUp: (message: string) => void, policy?: typeof RESTART_POLICY }} options
   *   `giveUp` gets one message (what failed, what to check) when the part cannot come back.
   */
  constructor(part, { log, giveUp, policy = RESTART_POLICY }) {
    this.part = part;
    this.log = log;
    this.giveUp = giveUp;
    this.policy = policy;
  }

  /** The running process, if any (for the exit safety net). */
  get child() {
    return this.#child;
  }

  /**
   * Starts the part and resolves once it serves; from then on it is restarted whenever it dies.
   * Failed starts are retried with backoff, except that a port held by another program fails the
   * first start at once (nothing of ours can be holding it yet).
   * @returns {Promise<void>} rejects with one message (what failed, what to check) when it cannot start
   */
  async start() {
    if (!(await this.#bringUp(undefined, "could not start"))) return;
    // Retries of the first start say nothing about crash loops: the first restart waits the least.
    this.#restarts = 0;
    this.#supervise().catch((error) => this.giveUp(message(error)));
  }

  /** Stops the part (SIGTERM, then SIGKILL after its grace period) and any restart in progress. */
  async stop() {
    this.#stopping = true;
    this.#abort.abort();
    await stopProcessTree(this.#child, this.part.stopGraceMs, this.log, this.part.processName);
  }

  /** Waits for the part to go down, restarts it, and again, until stopped; rejects when it cannot come back. */
  async #supervise() {
    const { name, processName } = this.part;
    const pid = (/** @type {number | undefined} */ pid) => `${name === processName ? "" : `${processName} `}pid ${pid}`;
    for (;;) {
      const child = /** @type {import("node:child_process").ChildProcess} */ (this.#child);
      const upSince = Date.now();
      const down = await this.#down(child);
      if (this.#stopping) return;
      if (Date.now() - upSince >= this.policy.stableMs) this.#restarts = 0;
      const delay = this.#nextDelay();
      this.log(`${name} (${pid(child.pid)}, up ${seconds(Date.now() - upSince)}) ${down.reason}; ${down.running ? "stopping it and " : ""}restarting it in ${seconds(delay)}`);
      await stopProcessTree(child, this.part.stopGraceMs, this.log, processName);
      if (!(await this.#bringUp(delay, "did not come back"))) return;
      this.log(`${name} is back (${pid(this.#child?.pid)}): ${this.part.url}`);
    }
  }

  /**
   * Starts the part (after `delay` ms, if given), retrying with backoff until it serves.
   * @param {number | undefined} delay
   * @param {string} failed how the give-up message says it failed: "could not start", "did not come back"
   * @returns {Promise<boolean>} true once it serves, false when stopped meanwhile
   */
  async #bringUp(delay, failed) {
    const { name, logHint } = this.part;
    const { maxFailedStarts } = this.policy;
    const first = delay === undefined;
    for (let failedStarts = 1; ; failedStarts++) {
      if (delay !== undefined && !(await this.#sleep(delay))) return false;
      try {
        await this.#startOnce();
        return !this.#stopping;
      } catch (error) {
        if (this.#stopping) return false;
        const why = message(error);
        const check = error instanceof StartFailure ? error.check : logHint;
        if (first && error instanceof StartFailure && error.lasting) throw new Error(`the ${name} ${failed}: ${why}. Check ${check}.`);
        if (failedStarts >= maxFailedStarts) throw new Error(`the ${name} ${failed} (${failedStarts} failed starts in a row; last: ${why}). Check ${check}.`);
        delay = this.#nextDelay();
        this.log(`${name} did not start: ${why}; retrying in ${seconds(delay)} (failed start ${failedStarts} of ${maxFailedStarts})`);
      }
    }
  }

  /** One start: the port must be free, then the process must get ready before it exits or times out. */
  async #startOnce() {
    const { host, port, portSetting, logHint } = this.part;
    const busy = await portProblem(host, port);
    if (busy) throw new StartFailure(busy, `what listens there (e.g. \`ss -ltnp 'sport = :${port}'\`), or set ${portSetting} to a free port`, true);
    if (this.#stopping) throw new StartFailure("stopping", "nothing");
    const child = this.part.spawn();
    this.#child = child;
    const { signal, release } = this.#scope();
    try {
      const outcome = await Promise.race([
        this.part.ready(child, signal).then(() => undefined),
        exitOf(child).then((exit) => `${this.part.processName} ${describeExit(exit)} before it was ready`),
        sleep(this.part.readyTimeoutMs, undefined, { signal }).then(
          () => `not ready after ${seconds(this.part.readyTimeoutMs)}`,
          () => "stopping",
        ),
      ]);
      if (outcome === undefined && !this.#stopping) return;
      await stopProcessTree(child, this.part.stopGraceMs, this.log, this.part.processName);
      throw new StartFailure(outcome ?? "stopping", logHint);
    } finally {
      release();
    }
  }

  /**
   * Waits until the part is down: its process exited, or `watch` says it stopped serving.
   * @param {import("node:child_process").ChildProcess} child
   * @returns {Promise<{ reason: string, running: boolean }>}
   */
  async #down(child) {
    const { signal, release } = this.#scope();
    // stop() ends the process, so the exit also ends this wait when stopping.
    const exited = exitOf(child).then((exit) => ({ reason: describeExit(exit), running: false }));
    try {
      if (!this.part.watch) return await exited;
      const unhealthy = this.part.watch(child, signal).then(
        (reason) => ({ reason, running: !hasExited(child) }),
        // Aborted by stop(), which ends the process: the exit ends the wait.
        () => exited,
      );
      return await Promise.race([exited, unhealthy]);
    } finally {
      release();
    }
  }

  /**
   * A signal for one attempt or watch: aborted by `release()` or by stop(). (Not `AbortSignal.any`:
   * on Node 20 its composite can be garbage-collected while waited on, and then never fires.)
   */
  #scope() {
    const controller = new AbortController();
    const stopAll = this.#abort.signal;
    const abort = () => controller.abort();
    if (stopAll.aborted) abort();
    else stopAll.addEventListener("abort", abort, { once: true });
    return {
      signal: controller.signal,
      release() {
        stopAll.removeEventListener("abort", abort);
        controller.abort();
      },
    };
  }

  #nextDelay() {
    const { firstDelayMs, maxDelayMs } = this.policy;
    return Math.min(firstDelayMs * 2 ** this.#restarts++, maxDelayMs);
  }

  /** @param {number} ms @returns {Promise<boolean>} false when stopped meanwhile */
  async #sleep(ms) {
    try {
      await sleep(ms, undefined, { signal: this.#abort.signal });
      return !this.#stopping;
    } catch {
      return false;
    }
  }
}

/** @param {unknown} error */
function message(error) {
  return error instanceof Error ? error.message : String(error);
}
