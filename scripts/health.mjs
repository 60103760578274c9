// The Worker's /health, as `npm start` sees it: wait until it answers, then watch that it keeps answering.
// The dev Worker (scripts/devWorker.mjs) exits when its workerd dies, but a workerd that hangs keeps both
// running while nothing is served: the process alone does not say whether the Worker serves.
import { setTimeout as sleep } from "node:timers/promises";

/**
 * Whether GET `url` answers 200 within `timeoutMs`. The timeout is a plain timer on our own
 * controller: on Node 20 a composite `AbortSignal.any([…, AbortSignal.timeout()])` can be garbage-
 * collected while fetch waits, and then never fires (a held request would hang the watch for good).
 * @param {string} url
 * @param {number} timeoutMs
 * @param {AbortSignal} signal
 */
async function answers(url, timeoutMs, signal) {
  const request = new AbortController();
  const timer = setTimeout(() => request.abort(), timeoutMs);
  const cancel = () => request.abort();
  signal.addEventListener("abort", cancel, { once: true });
  try {
    const response = await fetch(url, { signal: request.signal });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", cancel);
  }
}

/**
 * Resolves once `url` answers 200 (polled every 250 ms); rejects when `signal` aborts first.
 * @param {string} url the Worker's /health
 * @param {AbortSignal} signal
 * @returns {Promise<void>}
 */
export async function waitForHealth(url, signal) {
  while (!(await answers(url, 2_000, signal))) await sleep(250, undefined, { signal });
}

/**
 * When the Worker counts as down: /health asked every `intervalMs`, each answer awaited up to
 * `timeoutMs`, and no 200 for `silentMs`. Long enough that a reload (the dev Worker restarts workerd when
 * src/ changes: for a moment nothing answers) or a busy machine is not taken for a crash.
 */
export const HEALTH_WATCH = { intervalMs: 1_000, timeoutMs: 3_000, silentMs: 10_000 };

/**
 * Resolves with a reason for the log once `url` has not answered 200 for `silentMs`; rejects when
 * `signal` aborts first.
 * @param {string} url the Worker's /health
 * @param {AbortSignal} signal
 * @param {typeof HEALTH_WATCH} [watch]
 * @returns {Promise<string>}
 */
export async function watchHealth(url, signal, { intervalMs, timeoutMs, silentMs } = HEALTH_WATCH) {
  let lastOk = Date.now();
  for (;;) {
    await sleep(intervalMs, undefined, { signal });
    if (await answers(url, timeoutMs, signal)) lastOk = Date.now();
    else if (Date.now() - lastOk >= silentMs) return `has not answered /health for ${Math.round((Date.now() - lastOk) / 1000)} s`;
    signal.throwIfAborted();
  }
}
