// The Worker of `npm start`: bundled as `wrangler deploy` bundles it (scripts/bundles.mjs) and run in local
// workerd through Miniflare directly: the runtime `wrangler dev` uses, without wrangler's dev proxy in
// front of it (that proxy logs an uncaught "Network connection lost" for every WebSocket the Worker
// accepts and closes itself, i.e. every refused /connect, and can take `wrangler dev` down with it).
//
//   node scripts/devWorker.mjs [--host 127.0.0.1] [--port $PORT|8787] [--persist-to $PERSIST_TO|.wrangler/state]
//                              [--env-file <settings file>]
//
// - config from wrangler.toml through wrangler's own reader (scripts/workerConfig.mjs): entry, compatibility
//   date, Durable Objects, [assets], [vars] with the settings file over them;
// - Durable Object storage under <persist-to>/v3 (do/<name>-<class>/…), the layout `wrangler dev` uses, so
//   state written by either carries over;
// - prints the runtime's output (the Worker's structured log lines) line by line, and one ready line;
// - a change under [build] watch_dir (src/), to wrangler.toml or to the settings file runs the [build]
//   command, bundles again and restarts the runtime on the same port and storage: every connection drops,
//   as on a deploy. A failed build keeps the running Worker;
// - exits 1 when its workerd dies (npm start then restarts this process), and on SIGTERM/SIGINT stops
//   workerd (Miniflare's exit hook) and exits. Started with an IPC channel (as npm start does), it sends
//   `{ ready: <url>, vars: <its string bindings> }` once it serves.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, watch } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { workerBundle } from "./bundles.mjs";
import { relay } from "./processes.mjs";
import { readWorkerConfig, root, settingsFile } from "./workerConfig.mjs";

const startedAt = Date.now();
const { values: args } = parseArgs({
  options: {
    host: { type: "string", default: "127.0.0.1" },
    port: { type: "string", default: process.env.PORT || "8787" },
    "persist-to": { type: "string", default: process.env.PERSIST_TO || ".wrangler/state" },
    "env-file": { type: "string" },
  },
});
const port = Number(args.port);
const settings = args["env-file"] ? resolve(args["env-file"]) : settingsFile();
// As `wrangler dev --persist-to <dir>`: Miniflare's default persist root is <dir>/v3.
const persistRoot = join(resolve(root, args["persist-to"]), "v3");

/** @param {string} line */
const say = (line) => console.log(line);
/** A path for log lines: relative to the repository when inside it. @param {string} path */
const shown = (path) => (relative(root, path).startsWith("..") ? path : relative(root, path));
/** @param {number} since @returns {string} */
const secondsSince = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

/** The Worker's bundle, or undefined when it does not build (esbuild has printed why). @param {string} main */
async function bundle(main) {
  try {
    const result = await build({ ...workerBundle(), entryPoints: [main], absWorkingDir: root });
    return result.outputFiles[0].text;
  } catch {
    return undefined;
  }
}

/** The runtime's processes so far; the newest one is the Worker's workerd. */
let runtimes = 0;
let stopping = false;
let restartingRuntime = false;
/** @type {number | undefined} */
let workerdPid;

/**
 * Miniflare's options: wrangler.toml's worker options, our bundle, the port, the storage.
 * @param {import("./workerConfig.mjs").WorkerConfig} config
 * @param {string} script
 * @returns {import("miniflare").MiniflareOptions}
 */
function miniflareOptions(config, script) {
  return /** @type {import("miniflare").MiniflareOptions} */ ({
    ...config.workerOptions,
    name: config.name,
    // One bundled module; its name (for stack traces) is relative to modulesRoot, whatever our cwd is.
    modulesRoot: root,
    modules: [{ type: "ESModule", path: join(root, "index.js"), contents: script }],
    host: args.host,
    port,
    defaultPersistRoot: persistRoot,
    // No network: the fallback `request.cf` instead of fetching one from Cloudflare.
    cf: false,
    // The Worker logs its own structured lines; a line per request (and per /health check) would bury them.
    logRequests: false,
    handleRuntimeStdio(/** @type {import("node:stream").Readable} */ stdout, /** @type {import("node:stream").Readable} */ stderr) {
      const runtime = ++runtimes;
      relay(stdout, "", process.stdout);
      relay(stderr, "", process.stderr);
      // A restart of the runtime (reload) destroys the old streams without ending them: an end is a death.
      stdout.once("end", () => {
        if (stopping || restartingRuntime || runtime !== runtimes) return;
        say(`workerd (pid ${workerdPid ?? "?"}) exited unexpectedly: stopping, so that npm start restarts the Worker`);
        process.exit(1);
      });
    },
  });
}

/** Our workerd child's PID, for log lines (read from /proc: Linux only). @returns {number | undefined} */
function findWorkerd() {
  let entries;
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const [name, rest] = [stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")), stat.slice(stat.lastIndexOf(")") + 2)];
      if (name === "workerd" && Number(rest.split(" ")[1]) === process.pid) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

// ---- start ---------------------------------------------------------------------------------------
// Registered before Miniflare's own exit hook, which then stops workerd as the process exits.
for (const signal of /** @type {const} */ (["SIGTERM", "SIGINT", "SIGHUP"])) {
  process.on(signal, () => {
    stopping = true;
    process.exit(0);
  });
}
// esbuild bundles in its own process: start on the entry scripts/bundles.mjs names while wrangler's
// config reader loads (a second or two), and bundle again only if wrangler.toml's `main` differs.
const namedEntry = resolve(root, String(/** @type {string[]} */ (workerBundle().entryPoints)[0]));
const early = bundle(namedEntry);
let config = await readWorkerConfig(settings);
const script = config.main === namedEntry ? await early : await bundle(config.main);
if (script === undefined) {
  say("the Worker does not build (esbuild's errors above)");
  process.exit(1);
}
const mf = new Miniflare(miniflareOptions(config, script));
let url;
try {
  url = await mf.ready;
} catch (error) {
  say(`the Worker could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
workerdPid = findWorkerd();
// npm start (scripts/start.mjs) gives the gateway some of these settings.
process.send?.({ ready: url.origin, vars: config.vars });
say(`ready on ${url.origin} in ${secondsSince(startedAt)} (workerd pid ${workerdPid}; settings from ${shown(settings)}; Durable Objects stored in ${shown(persistRoot)})`);

// ---- reload on changes ----------------------------------------------------------------------------
/** @type {ReturnType<typeof setTimeout> | undefined} */
let debounce;
/** @type {Set<string>} */
const changed = new Set();
let reloads = Promise.resolve();

/** @param {string} what the changed file, for the log line */
function changedFile(what) {
  if (stopping) return;
  changed.add(what);
  clearTimeout(debounce);
  // Editors write a file in several steps, and a save can touch several files: one reload for them all.
  debounce = setTimeout(() => {
    const files = [...changed];
    changed.clear();
    reloads = reloads.then(() => reload(files));
  }, 300);
}

/** Runs the [build] command (the gateway and browser bundles), as `wrangler dev` does on each change. */
function runBuildCommand() {
  const { command, cwd } = config.build;
  if (!command) return Promise.resolve(true);
  return new Promise((resolveRun) => {
    const child = spawn(command, { shell: true, cwd, stdio: ["ignore", "inherit", "inherit"] });
    child.once("error", () => resolveRun(false));
    child.once("exit", (code) => resolveRun(code === 0));
  });
}

/** @param {string[]} files what changed */
async function reload(files) {
  if (stopping) return;
  const since = Date.now();
  const what = files.length === 1 ? files[0] : `${files[0]} and ${files.length - 1} more`;
  say(`${what} changed: building`);
  if (!(await runBuildCommand())) return say(`[build] command failed: the running Worker is kept`);
  let next = config;
  try {
    next = await readWorkerConfig(settings);
  } catch (error) {
    return say(`wrangler.toml cannot be read (${error instanceof Error ? error.message : String(error)}): the running Worker is kept`);
  }
  const script = await bundle(next.main);
  if (script === undefined) return say("the Worker does not build (esbuild's errors above): the running Worker is kept");
  if (stopping) return;
  restartingRuntime = true;
  try {
    await mf.setOptions(miniflareOptions(next, script));
  } catch (error) {
    say(`the reloaded Worker could not start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  } finally {
    restartingRuntime = false;
  }
  config = next;
  workerdPid = findWorkerd();
  say(`reloaded in ${secondsSince(since)} (workerd pid ${workerdPid}): every connection was dropped, as on a deploy`);
}

/** @param {import("node:fs").FSWatcher} watcher @param {string} what */
const reportFailure = (watcher, what) =>
  watcher.on("error", (error) => say(`watching ${shown(what)} failed (${error.message}): changes there no longer reload the Worker`));
for (const dir of config.build.watchDirs) {
  reportFailure(watch(dir, { recursive: true }, (_event, file) => changedFile(relative(root, join(dir, String(file ?? ""))))), dir);
}
// A file is watched through its directory: editors replace a file on save, which would end a watch on it.
for (const file of new Set([config.configPath, settings])) {
  reportFailure(
    watch(dirname(file), (_event, name) => {
      if (name === basename(file)) changedFile(shown(file));
    }),
    file,
  );
}

