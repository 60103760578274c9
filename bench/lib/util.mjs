import { coresBetween, sampleTree } from "./proc.mjs";

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the server tree uses under `cores` for 200 ms (at most maxMs). */
export async function waitQuiet(pid, { cores = 0.15, maxMs = 15000 } = {}) {
  const until = Date.now() + maxMs;
  let a = sampleTree(pid);
  while (Date.now() < until) {
    await sleep(200);
    const b = sampleTree(pid);
    if (coresBetween(a, b) < cores) return true;
    a = b;
  }
  return false;
}

/** Splits items round-robin into k lists. */
export function spread(items, k) {
  const out = Array.from({ length: k }, () => []);
  items.forEach((item, i) => out[i % k].push(item));
  return out;
}

export function serverUsage(a, b) {
  const out = { cores: coresBetween(a, b), byComm: {} };
  for (const [comm, v] of Object.entries(b.byComm)) {
    const before = a.byComm[comm]?.cpuMs ?? v.cpuMs;
    out.byComm[comm] = { cores: (v.cpuMs - before) / (b.at - a.at), rssKiB: v.rssKiB };
  }
  return out;
}

export const round = (x, d = 2) => (x === null || x === undefined || Number.isNaN(x) ? null : Number(x.toFixed(d)));
