// `npm start`: the whole system on this machine, no Cloudflare account, no network.
//   1. builds (scripts/build.mjs),
//   2. runs the Worker in local workerd on 127.0.0.1:${PORT:-8787}: scripts/devWorker.mjs bundles it as
//      `wrangler deploy` would and runs it through Miniflare directly (the runtime of `wrangler dev`,
//      without wrangler's dev proxy), with wrangler.toml's config and the settings from .dev.vars when it
//      exists, else from the committed .dev.vars.example; it reloads the Worker when src/ changes,
//   3. waits for /health, then runs the TCP gateway on 127.0.0.1:${GATEWAY_PORT:-5000} in front of it,
//      with the Worker's MAX_MESSAGE_BYTES, IDLE_TIMEOUT_SECONDS and GATEWAY_SECRET,
//   4. keeps both running: a part that dies (or a Worker whose /health goes silent) is restarted with
//      backoff (scripts/supervise.mjs); a part that cannot come back stops everything with one message,
//   5. on Ctrl-C / SIGTERM: the gateway says goodbye to its clients, then the Worker is stopped by its own
//      PID (its workerd with it).
// Optional: DEV_VARS_FILE (another settings file), PERSIST_TO (where Durable Object storage lives:
// <dir>/v3, default .wrangler/state, as `wrangler dev --persist-to`).
import { spawn, spawnSync } from "node:child_process";
import { join, relative } from "node:path";
import { gatewaySettingsFor } from "./gatewaySettings.mjs";
import { waitForHealth, watchHealth } from "./health.mjs";
import { hasExited, relay } from "./processes.mjs";
import { Supervisor } from "./supervise.mjs";
import { root, settingsFile } from "./workerConfig.mjs";

const port = Number(process.env.PORT || 8787);
const gatewayPort = Number(process.env.GATEWAY_PORT || 5000);
const host = "127.0.0.1";
const workerUrl = `http://${host}:${port}`;
const healthUrl = `${workerUrl}/health`;

/** @param {string} line */
function log(line) {
  console.log(`[start] ${line}`);
}

// ---- 1. build ----------------------------------------------------------------------------------
const build = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
if (build.status !== 0) {
  log("build failed");
  process.exit(1);
}

const envFile = settingsFile();
log(`settings from ${relative(root, envFile) || envFile}`);

// ---- 2. the parts -------------------------------------------------------------------------------
const workerArgs = [join(root, "scripts", "devWorker.mjs"), "--host", host, "--port", String(port), "--env-file", envFile];
// A restarted Worker uses the same storage, so rooms keep their seq and history (as on a deploy).
if (process.env.PERSIST_TO) workerArgs.push("--persist-to", process.env.PERSIST_TO);

/** @type {import("./supervise.mjs").Part} */
const workerPart = {
  name: "Worker",
  processName: "Worker",
  host,
  port,
  portSetting: "PORT",
  url: workerUrl,
  logHint: "the [worker] lines above",
  spawn() {
    // Own process group (detached) so a terminal's Ctrl-C reaches only us, and we stop things in order;
    // its workerd is in that group too. Over IPC it reports its settings once it serves.
    const child = spawn(process.execPath, workerArgs, { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe", "ipc"] });
    relay(child.stdout, "[worker]", process.stdout);
    relay(child.stderr, "[worker]", process.stderr);
    return child;
  },
  ready: async (child, signal) => {
    const [vars] = await Promise.all([readyMessage(child, signal), waitForHealth(healthUrl, signal)]);
    workerVars = vars;
  },
  readyTimeoutMs: 90_000,
  // The dev Worker exits when its workerd dies; /health also catches a workerd that hangs.
  watch: (_child, signal) => watchHealth(healthUrl, signal),
  stopGraceMs: 10_000,
};

/**
 * The Worker's string bindings ([vars] with the settings file over them), as the dev Worker last
 * reported them: the gateway mirrors some of them.
 * @type {Record<string, string>}
 */
let workerVars = {};

/**
 * Resolves with the bindings in the dev Worker's ready message (scripts/devWorker.mjs); rejects when
 * `signal` aborts first.
 * @param {import("node:child_process").ChildProcess} child
 * @param {AbortSignal} signal
 * @returns {Promise<Record<string, string>>}
 */
function readyMessage(child, signal) {
  return new Promise((resolve, reject) => {
    const onMessage = (/** @type {any} */ message) => {
      if (typeof message?.vars !== "object") return;
      child.off("message", onMessage);
      resolve(message.vars);
    };
    child.on("message", onMessage);
    signal.addEventListener("abort", () => {
      child.off("message", onMessage);
      reject(signal.reason);
    }, { once: true });
  });
}

/** @type {string[]} */
let gatewaySettingArgs = [];
/** @type {NodeJS.ProcessEnv} */
const gatewayEnv = { ...process.env };

/** @type {import("./supervise.mjs").Part} */
const gatewayPart = {
  name: "gateway",
  processName: "gateway",
  host,
  port: gatewayPort,
  portSetting: "GATEWAY_PORT",
  url: `tcp://${host}:${gatewayPort}`,
  logHint: "the [gateway] lines above",
  spawn() {
    const child = spawn(
      process.execPath,
      [join(root, "bin", "edgechat-gateway.mjs"), "--port", String(gatewayPort), "--host", host, "--upstream", `ws://${host}:${port}`, ...gatewaySettingArgs],
      { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"], env: gatewayEnv },
    );
    relay(child.stdout, "[gateway]", process.stdout);
    relay(child.stderr, "[gateway]", process.stderr);
    return child;
  },
  // The gateway is stateless: it serves once it listens (upstream connections open per client).
  ready: (child, signal) =>
    new Promise((resolve, reject) => {
      let seen = "";
      const onData = (/** @type {string} */ text) => {
        seen = (seen + text).slice(-4096);
        if (!seen.includes("listening on")) return;
        child.stdout?.off("data", onData);
        resolve();
      };
      child.stdout?.on("data", onData);
      signal.addEventListener("abort", () => {
        child.stdout?.off("data", onData);
        reject(signal.reason);
      }, { once: true });
    }),
  readyTimeoutMs: 30_000,
  stopGraceMs: 5_000,
};

const worker = new Supervisor(workerPart, { log, giveUp });
const gateway = new Supervisor(gatewayPart, { log, giveUp });

// ---- stopping -----------------------------------------------------------------------------------
let stopping = false;

/** @param {number} code */
async function stop(code) {
  if (stopping) return;
  stopping = true;
  // Gateway first, so its clients hear "server shutting down" rather than a lost upstream.
  await gateway.stop();
  await worker.stop();
  log(code === 0 ? "stopped" : `stopped (exit code ${code})`);
  process.exit(code);
}

/** A part cannot come back: never stay half-alive. @param {string} message what failed, what to check */
function giveUp(message) {
  if (stopping) return;
  log(`giving up: ${message}`);
  void stop(1);
}

process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
process.on("SIGHUP", () => void stop(0));
// Safety net: however this process ends, its children are told to stop (the Worker then stops workerd).
process.on("exit", () => {
  for (const child of [gateway.child, worker.child]) {
    if (child?.pid && !hasExited(child)) {
      try {
        process.kill(child.pid, "SIGTERM");
      } catch {
        // already gone
      }
    }
  }
});
// `npm start` runs us under `sh -c`, and a SIGTERM to npm's PID kills npm and sh without passing it
// on: when our parent goes (we get re-parented), stop as if we had been told to.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart && !stopping) {
    log("parent process gone: stopping");
    void stop(0);
  }
}, 500).unref();
process.on("uncaughtException", (error) => {
  console.error("[start]", error);
  void stop(1);
});

// ---- 3. start: the Worker, then the gateway in front of it ----------------------------------------
try {
  await worker.start();
  const { args, secret } = await gatewaySettingsFor(workerVars);
  gatewaySettingArgs = args;
  // A secret goes by environment, never on a command line (which `ps` shows).
  gatewayEnv.GATEWAY_SECRET = secret;
  if (!stopping) await gateway.start();
} catch (error) {
  giveUp(error instanceof Error ? error.message : String(error));
}
if (!stopping) {
  log(`Worker:  ${workerUrl}  (WebSocket ${workerUrl.replace(/^http/, "ws")}/connect)`);
  log(`Gateway: tcp://${host}:${gatewayPort}  (try: nc ${host} ${gatewayPort})`);
  log("Ctrl-C to stop; a part that dies is restarted");
}
