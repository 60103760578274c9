// edgechat as users run it locally: the Worker bundled by esbuild (as test/support/worker.ts and
// `wrangler deploy` do) and run by Miniflare in local workerd, on a random loopback port.
// Env: BENCH_INSPECTOR_PORT (optional) opens workerd's inspector for profiling;
//      BENCH_RATE_LIMIT overrides RATE_LIMIT (default here: 1000000, see README).
import { readFileSync } from "node:fs";
import { build, stop as stopEsbuild } from "esbuild";
import { Miniflare } from "miniflare";
import { workerBundle } from "../../scripts/bundles.mjs";
import { readDevVars } from "../../scripts/devVars.mjs";

const devVars = () => readDevVars(".dev.vars.example");

// BENCH_SRC_DIR: bundle a patched copy of src/ instead (bench/profile.mjs what-if experiments).
const result = await build(workerBundle(process.env.BENCH_SRC_DIR));
stopEsbuild(); // the esbuild service process must not count as server memory
/** Durable Object bindings and [vars] from wrangler.toml, so the bench follows the project's config. */
function wranglerConfig(path = "wrangler.toml") {
  const text = readFileSync(path, "utf8");
  const durableObjects = {};
  for (const block of text.split(/^\[\[durable_objects\.bindings\]\]\s*$/m).slice(1)) {
    const body = block.split(/^\[/m)[0];
    const name = /^\s*name\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    const className = /^\s*class_name\s*=\s*"([^"]+)"/m.exec(body)?.[1];
    if (name && className) durableObjects[name] = { className, useSQLite: new RegExp(`new_sqlite_classes\\s*=\\s*\\[[^\\]]*"${className}"`).test(text) };
  }
  const vars = {};
  const varsSection = /^\[vars\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1] ?? "";
  for (const m of varsSection.matchAll(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"([^"]*)"/gm)) vars[m[1]] = m[2];
  const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(text)?.[1] ?? "2026-04-20";
  return { durableObjects, vars, compatibilityDate };
}
const config = wranglerConfig();
const inspectorPort = process.env.BENCH_INSPECTOR_PORT ? Number(process.env.BENCH_INSPECTOR_PORT) : undefined;
const mf = new Miniflare({
  name: "edgechat",
  modules: [{ type: "ESModule", path: "index.js", contents: result.outputFiles[0].text }],
  compatibilityDate: config.compatibilityDate,
  durableObjects: config.durableObjects,
  // BENCH_VARS: JSON of extra settings (what-if experiments, e.g. {"HISTORY_SIZE":"0"}).
  bindings: { ...config.vars, ...devVars(), RATE_LIMIT: process.env.BENCH_RATE_LIMIT ?? "1000000", ...JSON.parse(process.env.BENCH_VARS || "{}") },
  host: "127.0.0.1",
  port: 0,
  cf: false,
  ...(inspectorPort ? { inspectorPort } : {}),
});
const url = (await mf.ready).origin;
process.send?.({ type: "ready", url, inspectorPort, durableObjects: config.durableObjects });

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose().catch(() => {});
  process.exit(0);
}
process.on("disconnect", stop);
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
