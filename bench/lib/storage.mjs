// Where edgechat's Durable Object storage (Miniflare's durableObjectsPersist directory: one SQLite
// file per object) lives in each storage mode of the bench, and what file system that is.
//  - disk:   on the ordinary disk, as `npm start` runs (wrangler dev keeps .wrangler/state/ in the
//            project): every commit waits for the disk's flush. Base: $BENCH_DISK_DIR or ./.wrangler/bench.
//  - memory: on tmpfs, so a commit costs no flush; the closest local stand-in for production, where
//            a commit is confirmed by replicas over the network, not by a local fsync.
//            Base: $BENCH_MEMORY_DIR or /dev/shm.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/** Storage modes in report order: key -> label used in tables. */
export const STORAGE_MODES = { disk: "disk", memory: "memory-backed" };

const MEMORY_FS = new Set(["tmpfs", "ramfs"]);

/** The file system a path is on, from /proc/mounts (longest mount point that contains it). */
export function fileSystemOf(path) {
  const abs = resolve(path);
  let best = { mountPoint: "", fsType: "unknown", device: "" };
  try {
    for (const line of readFileSync("/proc/mounts", "utf8").split("\n")) {
      const [device, mountPoint, fsType] = line.split(" ");
      if (!mountPoint) continue;
      const mp = mountPoint.replace(/\\040/g, " ");
      const inside = abs === mp || abs.startsWith(mp.endsWith("/") ? mp : `${mp}/`);
      if (inside && mp.length >= best.mountPoint.length) best = { mountPoint: mp, fsType, device };
    }
  } catch {
    // not Linux: unknown
  }
  return best;
}

/**
 * A fresh, empty storage directory for one server of the given mode. Throws when the mode's base
 * is not what the mode claims (disk mode on tmpfs, memory mode not on tmpfs), so a table is never
 * labelled with the wrong mode.
 * @param {"disk"|"memory"} mode
 * @returns {{ mode: string, dir: string, fsType: string, mountPoint: string, remove(): void, files(): number }}
 */
export function makeStorageDir(mode) {
  if (!(mode in STORAGE_MODES)) throw new Error(`unknown storage mode ${mode} (use ${Object.keys(STORAGE_MODES).join(", ")})`);
  const base = mode === "disk" ? process.env.BENCH_DISK_DIR || join(process.cwd(), ".wrangler", "bench") : process.env.BENCH_MEMORY_DIR || "/dev/shm";
  mkdirSync(base, { recursive: true });
  const fs = fileSystemOf(base);
  const inMemory = MEMORY_FS.has(fs.fsType);
  if (mode === "memory" && !inMemory) throw new Error(`memory-backed mode needs a tmpfs directory; ${base} is on ${fs.fsType} (set BENCH_MEMORY_DIR)`);
  if (mode === "disk" && inMemory) throw new Error(`disk mode needs a directory on a disk; ${base} is on ${fs.fsType} (set BENCH_DISK_DIR)`);
  const dir = mkdtempSync(join(base, `edgechat-bench-${mode}-`));
  return {
    mode,
    dir,
    fsType: fs.fsType,
    mountPoint: fs.mountPoint,
    remove: () => rmSync(dir, { recursive: true, force: true }),
    /** SQLite files written so far: proof that storage went where the mode says. */
    files: () => countFiles(dir),
  };
}

function countFiles(dir) {
  let n = 0;
  try {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      n += statSync(path).isDirectory() ? countFiles(path) : name.endsWith(".sqlite") ? 1 : 0;
    }
  } catch {
    // gone
  }
  return n;
}
