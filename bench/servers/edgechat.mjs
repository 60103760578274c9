// edgechat as users run it locally: the Worker bundled by esbuild (as test/support/worker.ts and
// `wrangler deploy` do) and run by Miniflare in local workerd, on a random loopback port.
// Env: BENCH_DO_DIR (required): the directory Miniflare keeps the Durable Objects' SQLite files in
//        (durableObjectsPersist). Left unset, Miniflare would pick <os.tmpdir()>/miniflare-*/do,
//        i.e. whatever TMPDIR is; the bench sets it explicitly per storage mode (lib/storage.mjs);
//      BENCH_INSTRUMENTED=1 runs bench/instrumented/worker.mjs (the cost pass's meters around the
//        real Worker) instead of src/app/worker.ts; BENCH_SQL_AUDIT=1 also checks its row totals;
//      BENCH_INSPECTOR_PORT (optional) opens workerd's inspector for profiling;
//      BENCH_RATE_LIMIT overrides RATE_LIMIT (default here: 1000000, see README).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, stop as stopEsbuild } from "esbuild";
import { Miniflare } from "miniflare";
import { workerBundle } from "../../scripts/bundles.mjs";
import { readDevVars } from "../../scripts/devVars.mjs";
import { stopWithRunner } from "../lib/child.mjs";

const devVars = () => readDevVars(".dev.vars.example");
const storageDir = process.env.BENCH_DO_DIR;
if (!storageDir) throw new Error("BENCH_DO_DIR is not set: the bench chooses where Durable Object storage lives");

// BENCH_SRC_DIR: bundle a patched copy of src/ instead (bench/profile.mjs what-if experiments).
const srcDir = process.env.BENCH_SRC_DIR;
const instrumented = process.env.BENCH_INSTRUMENTED === "1";

/**
 * The metered Worker: an entry, generated here, that wraps the real Worker entry (the one
 * scripts/bundles.mjs builds) with bench/instrumented/worker.mjs, for every Durable Object class and
 * binding wrangler.toml declares.
 */
function instrumentedBundle(dir, durableObjects) {
  const real = workerBundle(dir);
  const meters = fileURLToPath(new URL("../instrumented/worker.mjs", import.meta.url));
  const classes = [...new Set(Object.values(durableObjects).map((d) => d.className))];
  const bindings = Object.fromEntries(Object.entries(durableObjects).map(([name, d]) => [name, d.className]));
  const contents = [
    `import * as real from ${JSON.stringify(resolve(real.entryPoints[0]))};`,
    `import { metered, meteredHandler, meterBindings } from ${JSON.stringify(meters)};`,
    `meterBindings(${JSON.stringify(bindings)});`,
    `export default meteredHandler(real.default);`,
    ...classes.map((c) => `export const ${c} = metered(real[${JSON.stringify(c)}], ${JSON.stringify(c)});`),
  ].join("\n");
  const { entryPoints: _entry, ...options } = real;
  return { ...options, stdin: { contents, resolveDir: process.cwd(), sourcefile: "bench-metered-worker.mjs", loader: "js" } };
}

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
const result = await build(instrumented ? instrumentedBundle(srcDir, config.durableObjects) : workerBundle(srcDir));
stopEsbuild(); // the esbuild service process must not count as server memory
const inspectorPort = process.env.BENCH_INSPECTOR_PORT ? Number(process.env.BENCH_INSPECTOR_PORT) : undefined;
const mf = new Miniflare({
  name: "edgechat",
  modules: [{ type: "ESModule", path: "index.js", contents: result.outputFiles[0].text }],
  compatibilityDate: config.compatibilityDate,
  durableObjects: config.durableObjects,
  durableObjectsPersist: storageDir,
  // BENCH_VARS: JSON of extra settings (what-if experiments, e.g. {"HISTORY_SIZE":"0"}).
  bindings: {
    ...config.vars,
    ...devVars(),
    RATE_LIMIT: process.env.BENCH_RATE_LIMIT ?? "1000000",
    ...JSON.parse(process.env.BENCH_VARS || "{}"),
    ...(instrumented && process.env.BENCH_SQL_AUDIT === "1" ? { BENCH_SQL_AUDIT: "1" } : {}),
  },
  host: "127.0.0.1",
  port: 0,
  cf: false,
  ...(inspectorPort ? { inspectorPort } : {}),
});
const url = (await mf.ready).origin;
process.send?.({ type: "ready", url, inspectorPort, durableObjects: config.durableObjects, storageDir, instrumented });

stopWithRunner(() => mf.dispose());
