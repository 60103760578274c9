// Linux /proc readers: a process tree's resident memory and CPU time.
import { readdirSync, readFileSync } from "node:fs";

const TICK_MS = 10; // CLK_TCK is 100 on this machine (getconf CLK_TCK)

/**
 * CPU time of a process in ms, from the scheduler's per-thread counters (/proc/<pid>/task/<tid>/
 * schedstat, nanoseconds): /proc/<pid>/stat counts in 10 ms ticks, too coarse for CPU per message
 * over a short window. Falls back to the ticks when schedstat is not there. Threads that exited
 * are not in schedstat; the servers here keep theirs.
 */
function preciseCpuMs(pid, ticksMs) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    return Number.isFinite(ns) && ns > 0 ? ns / 1e6 : ticksMs;
  } catch {
    return ticksMs;
  }
}

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const close = text.lastIndexOf(")");
    const comm = text.slice(text.indexOf("(") + 1, close);
    const f = text.slice(close + 2).split(" ");
    // f[0] = state (field 3); ppid field 4 -> f[1]; utime 14 -> f[11]; stime 15 -> f[12]
    return { pid, comm, ppid: Number(f[1]), cpuMs: (Number(f[11]) + Number(f[12])) * TICK_MS };
  } catch {
    return undefined;
  }
}

/** The pid and all its descendants, with their command names. */
export function processTree(root) {
  const all = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s) all.push(s);
  }
  const tree = [];
  const want = new Set([root]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of all) {
      if (!want.has(s.pid) && want.has(s.ppid)) {
        want.add(s.pid);
        grew = true;
      }
    }
  }
  for (const s of all) if (want.has(s.pid)) tree.push(s);
  return tree;
}

export function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU ms and RSS of a tree, split by command name (e.g. workerd vs node). */
export function sampleTree(root) {
  const procs = processTree(root);
  const byComm = {};
  let cpuMs = 0;
  let rss = 0;
  for (const p of procs) {
    const r = rssKiB(p.pid);
    const cpu = preciseCpuMs(p.pid, p.cpuMs);
    cpuMs += cpu;
    rss += r;
    const c = (byComm[p.comm] ??= { cpuMs: 0, rssKiB: 0, pids: [] });
    c.cpuMs += cpu;
    c.rssKiB += r;
    c.pids.push(p.pid);
  }
  return { at: performance.now(), cpuMs, rssKiB: rss, byComm };
}

/** Cores used by the tree between two samples. */
export function coresBetween(a, b) {
  const wall = b.at - a.at;
  return wall > 0 ? (b.cpuMs - a.cpuMs) / wall : 0;
}

export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Machine-wide CPU counters (/proc/stat), to see load from processes outside the bench. */
export function machineCpu() {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const idle = line[3] + (line[4] ?? 0);
  const total = line.reduce((a, b) => a + b, 0);
  return { idle, total, at: performance.now() };
}

/** Busy cores between two machineCpu() samples. */
export function machineBusyCores(a, b, cpus) {
  const total = b.total - a.total;
  return total > 0 ? ((total - (b.idle - a.idle)) / total) * cpus : 0;
}
