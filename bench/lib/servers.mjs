// Starts each server under test in its own child process and stops it by PID.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { isAlive, processTree } from "./proc.mjs";

const SERVERS = {
  edgechat: { script: "../servers/edgechat.mjs", proto: "ec", label: "edgechat (workerd)" },
  ws: { script: "../servers/ws-baseline.mjs", proto: "ec", label: "ws baseline (Node)" },
  socketio: { script: "../servers/socketio-baseline.mjs", proto: "sio", label: "Socket.IO 4.8.1 (Node)" },
};

export const SERVER_NAMES = Object.keys(SERVERS);
export function serverInfo(name) {
  return SERVERS[name];
}

export async function startServer(name, env = {}) {
  const spec = SERVERS[name];
  const child = fork(fileURLToPath(new URL(spec.script, import.meta.url)), [], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, ...env },
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const ready = await Promise.race([
    new Promise((resolve) => child.on("message", (m) => m?.type === "ready" && resolve(m))),
    exited.then(() => {
      throw new Error(`${name} server exited before ready`);
    }),
    new Promise((_, reject) => setTimeout(() => reject(new Error(`${name} server: not ready in 30 s`)), 30000)),
  ]);
  return {
    name,
    proto: spec.proto,
    label: spec.label,
    pid: child.pid,
    url: ready.url,
    wsUrl: ready.url.replace(/^http/, "ws"),
    inspectorPort: ready.inspectorPort,
    async stop() {
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
    },
  };
}
