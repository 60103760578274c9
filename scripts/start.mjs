// `npm start`: the whole system on this machine, no Cloudflare account, no network.
//   1. builds (scripts/build.mjs),
//   2. runs the Worker in local workerd: `wrangler dev` on 127.0.0.1:${PORT:-8787}, with the settings from
//      .dev.vars when it exists, else from the committed .dev.vars.example (passed with --env-file),
//   3. waits for /health, then runs the TCP gateway on 127.0.0.1:${GATEWAY_PORT:-5000} in front of it,
//   4. on Ctrl-C / SIGTERM: the gateway says goodbye to its clients, then wrangler is stopped by its own
//      PID (never through npx, which would orphan workerd).
// Optional: DEV_VARS_FILE (another settings file), PERSIST_TO (wrangler's --persist-to directory).
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readDevVars } from "./devVars.mjs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const port = Number(process.env.PORT || 8787);
const gatewayPort = Number(process.env.GATEWAY_PORT || 5000);
const host = "127.0.0.1";
const workerUrl = `http://${host}:${port}`;

function log(line) {
  console.log(`[start] ${line}`);
}


function settingsFile() {
  if (process.env.DEV_VARS_FILE) return process.env.DEV_VARS_FILE;
  const own = join(root, ".dev.vars");
  return existsSync(own) ? own : join(root, ".dev.vars.example");
}

/** Prefixes each line of a child's output so the two logs stay readable. */
function relay(stream, prefix, sink) {
  let partial = "";
  stream.setEncoding("utf8");
  stream.on("data", (text) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop();
    for (const line of lines) sink.write(`${prefix} ${line}\n`);
  });
  stream.on("end", () => {
    if (partial) sink.write(`${prefix} ${partial}\n`);
  });
}

function waitExit(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGTERM to the child's own PID; if it is still there after `ms`, SIGKILL its whole process group. */
async function stopChild(child, name, ms) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, "SIGTERM");
  } catch {
    return;
  }
  if (await waitExit(child, ms)) return;
  log(`${name} did not stop in ${ms} ms: killing it`);
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
  await waitExit(child, 2_000);
}

// ---- 1. build ----------------------------------------------------------------------------------
const build = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
if (build.status !== 0) {
  log("build failed");
  process.exit(1);
}

// ---- 2. the Worker in local workerd --------------------------------------------------------------
const envFile = settingsFile();
const settings = readDevVars(envFile);
log(`settings from ${relative(root, envFile) || envFile}`);

const wranglerArgs = [
  join(root, "node_modules", ".bin", "wrangler"),
  "dev",
  "--ip",
  host,
  "--port",
  String(port),
  "--show-interactive-dev-session=false",
  "--env-file",
  envFile,
];
if (process.env.PERSIST_TO) wranglerArgs.push("--persist-to", process.env.PERSIST_TO);

// Own process group (detached) so a terminal's Ctrl-C reaches only us, and we stop things in order.
const wrangler = spawn(process.execPath, wranglerArgs, {
  cwd: root,
  detached: true,
  stdio: ["ignore", "pipe", "pipe"],
  env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
});
relay(wrangler.stdout, "[wrangler]", process.stdout);
relay(wrangler.stderr, "[wrangler]", process.stderr);

let gateway;
let stopping = false;

async function stop(code) {
  if (stopping) return;
  stopping = true;
  // Gateway first, so its clients hear "server shutting down" rather than a lost upstream.
  await stopChild(gateway, "gateway", 5_000);
  await stopChild(wrangler, "wrangler", 10_000);
  log("stopped");
  process.exit(code);
}

process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
process.on("SIGHUP", () => void stop(0));
// Safety net: however this process ends, its children are told to stop (wrangler then stops workerd).
process.on("exit", () => {
  for (const child of [gateway, wrangler]) {
    if (child && child.exitCode === null && child.signalCode === null) {
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
  if (process.ppid !== parentAtStart) {
    log("parent process gone: stopping");
    void stop(0);
  }
}, 500).unref();
process.on("uncaughtException", (error) => {
  console.error("[start]", error);
  void stop(1);
});
wrangler.once("exit", (code, signal) => {
  if (stopping) return;
  log(`wrangler exited (${signal ?? code})`);
  void stop(1);
});

async function waitForHealth(timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !stopping) {
    try {
      const response = await fetch(`${workerUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return true;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

if (!(await waitForHealth(90_000))) {
  if (!stopping) {
    log(`the Worker did not answer ${workerUrl}/health`);
    await stop(1);
  }
} else {
  // ---- 3. the TCP gateway ------------------------------------------------------------------------
  const gatewayEnv = { ...process.env, GATEWAY_SECRET: settings.GATEWAY_SECRET ?? "" };
  if (settings.MAX_MESSAGE_BYTES) gatewayEnv.MAX_MESSAGE_BYTES = settings.MAX_MESSAGE_BYTES;
  gateway = spawn(
    process.execPath,
    [join(root, "bin", "edgechat-gateway.mjs"), "--port", String(gatewayPort), "--host", host, "--upstream", `ws://${host}:${port}`],
    { cwd: root, detached: true, stdio: ["ignore", "pipe", "pipe"], env: gatewayEnv },
  );
  relay(gateway.stdout, "[gateway]", process.stdout);
  relay(gateway.stderr, "[gateway]", process.stderr);
  gateway.once("exit", (code, signal) => {
    if (stopping) return;
    log(`gateway exited (${signal ?? code})`);
    void stop(1);
  });
  gateway.stdout.on("data", function ready(text) {
    if (!String(text).includes("listening on")) return;
    gateway.stdout.off("data", ready);
    log(`Worker:  ${workerUrl}  (WebSocket ${workerUrl.replace(/^http/, "ws")}/connect)`);
    log(`Gateway: tcp://${host}:${gatewayPort}  (try: nc ${host} ${gatewayPort})`);
    log("Ctrl-C to stop");
  });
}
