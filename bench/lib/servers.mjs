// Starts each server under test in its own child process and stops it by PID.
// edgechat runs in one of the storage modes of lib/storage.mjs: "edgechat-disk",
// "edgechat-memory", and "edgechat-cost" (the metered build of bench/instrumented/, memory-backed,
// for the cost pass only). "edgechat" alone means edgechat-disk (profile.mjs, whatif.mjs).
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { isAlive, processTree } from "./proc.mjs";
import { makeStorageDir } from "./storage.mjs";

const EDGECHAT = "../servers/edgechat.mjs";
const SERVERS = {
  "edgechat-disk": { script: EDGECHAT, proto: "ec", label: "edgechat (workerd), disk", storage: "disk" },
  "edgechat-memory": { script: EDGECHAT, proto: "ec", label: "edgechat (workerd), memory-backed", storage: "memory" },
  "edgechat-cost": { script: EDGECHAT, proto: "ec", label: "edgechat, metered build, memory-backed", storage: "memory", env: { BENCH_INSTRUMENTED: "1" } },
  ws: { script: "../servers/ws-baseline.mjs", proto: "ec", label: "ws baseline (Node)" },
  socketio: { script: "../servers/socketio-baseline.mjs", proto: "sio", label: "Socket.IO 4.8.1 (Node)" },
  // Connections scenario only: the runtime's own memory per idle hibernatable socket (no edgechat code).
  "workerd-floor": { script: "../servers/workerd-floor.mjs", proto: "ec", label: "workerd floor (a Durable Object that only accepts hibernatable sockets)", storage: "memory" },
};
SERVERS.edgechat = SERVERS["edgechat-disk"];

/** The baselines; edgechat servers are named by storage mode (edgechatIn). */
export const BASELINES = ["ws", "socketio"];
/** The server key of edgechat in a storage mode ("disk" | "memory"). */
export const edgechatIn = (mode) => `edgechat-${mode}`;

export function serverInfo(name) {
  return SERVERS[name];
}

/**
 * @param {string} name a key of SERVERS
 * @param {object} [env] extra environment for the server process
 * @param {{ reuseStorageOf?: { storageHandle: object } }} [options] start on the storage directory
 *   of an earlier edgechat server (stopped with keepStorage), as a restart or deploy would: every
 *   object then runs its constructor on existing data, as it does on a wake from hibernation
 */
export async function startServer(name, env = {}, options = {}) {
  const spec = SERVERS[name];
  if (!spec) throw new Error(`unknown server ${name}`);
  const storage = options.reuseStorageOf?.storageHandle ?? (spec.storage ? makeStorageDir(spec.storage) : undefined);
  const child = fork(fileURLToPath(new URL(spec.script, import.meta.url)), [], {
    // stdout carries the server's info logs (edgechat logs every connect): drained, not shown;
    // stderr (errors, warnings) stays visible.
    stdio: ["ignore", "pipe", "inherit", "ipc"],
    env: { ...process.env, ...spec.env, ...env, ...(storage ? { BENCH_DO_DIR: storage.dir } : {}) },
  });
  child.stdout.resume();
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let ready;
  try {
    ready = await Promise.race([
      new Promise((resolve) => child.on("message", (m) => m?.type === "ready" && resolve(m))),
      exited.then(() => {
        throw new Error(`${name} server exited before ready`);
      }),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`${name} server: not ready in 30 s`)), 30000)),
    ]);
  } catch (error) {
    child.kill("SIGKILL");
    storage?.remove();
    throw error;
  }
  return {
    name,
    proto: spec.proto,
    label: spec.label,
    pid: child.pid,
    url: ready.url,
    wsUrl: ready.url.replace(/^http/, "ws"),
    inspectorPort: ready.inspectorPort,
    /** For edgechat: the storage mode, its directory and file system (see lib/storage.mjs). */
    storage: storage && { mode: storage.mode, dir: storage.dir, fsType: storage.fsType, mountPoint: storage.mountPoint, files: storage.files },
    storageHandle: storage,
    /** keepStorage: leave the storage directory for a server started with reuseStorageOf (which removes it). */
    async stop({ keepStorage = false } = {}) {
      const tree = processTree(child.pid).map((p) => p.pid);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      // Whatever the server started (workerd) must be gone too.
      for (const pid of tree) if (pid !== child.pid && isAlive(pid)) {
        try { process.kill(pid, "SIGKILL"); } catch {}
      }
      if (!keepStorage) storage?.remove();
    },
  };
}
