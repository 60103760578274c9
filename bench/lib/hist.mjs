// Latency histogram with ~1% relative buckets from 1 µs to ~100 s; mergeable across processes.
const BASE = 0.001; // ms
const GROWTH = Math.log(1.01);
const SIZE = 1900;

export function newHist() {
  return { counts: new Array(SIZE).fill(0), n: 0, sum: 0, max: 0 };
}

export function record(h, ms) {
  const v = ms < BASE ? BASE : ms;
  let i = Math.floor(Math.log(v / BASE) / GROWTH);
  if (i >= SIZE) i = SIZE - 1;
  h.counts[i]++;
  h.n++;
  h.sum += ms;
  if (ms > h.max) h.max = ms;
}

export function merge(into, from) {
  for (let i = 0; i < SIZE; i++) into.counts[i] += from.counts[i];
  into.n += from.n;
  into.sum += from.sum;
  if (from.max > into.max) into.max = from.max;
  return into;
}

/** Upper bound of the bucket holding the q-quantile, in ms (null if empty). */
export function quantile(h, q) {
  if (h.n === 0) return null;
  const target = Math.ceil(q * h.n);
  let seen = 0;
  for (let i = 0; i < SIZE; i++) {
    seen += h.counts[i];
    if (seen >= target) return Math.min(h.max, BASE * Math.exp((i + 1) * GROWTH));
  }
  return h.max;
}

/** Sparse form for IPC. */
export function pack(h) {
  const idx = [];
  for (let i = 0; i < SIZE; i++) if (h.counts[i]) idx.push(i, h.counts[i]);
  return { idx, n: h.n, sum: h.sum, max: h.max };
}

export function unpack(p) {
  const h = newHist();
  for (let k = 0; k < p.idx.length; k += 2) h.counts[p.idx[k]] = p.idx[k + 1];
  h.n = p.n;
  h.sum = p.sum;
  h.max = p.max;
  return h;
}
