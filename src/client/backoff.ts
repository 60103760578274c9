import type { ReconnectOptions } from "./types.js";

/**
 * Jittered exponential backoff: attempt n waits between half and all of
 * min(max, initial * 2^n), so clients dropped together do not come back together.
 */
export function backoffDelay(attempt: number, options: ReconnectOptions = {}, random: () => number = Math.random): number {
  const initial = options.initialDelayMs ?? 500;
  const max = options.maxDelayMs ?? 30_000;
  const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
