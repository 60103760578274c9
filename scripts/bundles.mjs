// The esbuild options of every bundle edgechat makes, in one place: scripts/build.mjs, the tests
// and the benchmarks all build from these, so what is tested is what ships.

/** @typedef {import("esbuild").BuildOptions} BuildOptions */

/**
 * The Worker and its Durable Objects, as `wrangler deploy` bundles them (for Miniflare in tests and bench).
 * @param {string} [srcDir] another copy of src/ (bench what-if experiments)
 * @returns {BuildOptions & { write: false }}
 */
export function workerBundle(srcDir = "src") {
  return {
    entryPoints: [`${srcDir}/app/worker.ts`],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["browser", "module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*"],
    write: false,
    logLevel: "error",
  };
}

/** The TCP gateway for Node (`npx edgechat-gateway`). @type {BuildOptions} */
export const gatewayBundle = {
  entryPoints: ["src/gateway/cli.ts"],
  outfile: "dist/gateway.mjs",
  platform: "node",
  target: "node20",
  format: "esm",
  bundle: true,
  packages: "external",
  logLevel: "warning",
};

/** @type {BuildOptions} */
const browser = {
  platform: "browser",
  target: "es2022",
  format: "esm",
  bundle: true,
  minify: true,
  sourcemap: true,
  logLevel: "warning",
};

/** The client library other pages load from /client/edgechat.js. @type {BuildOptions} */
export const clientBundle = { ...browser, entryPoints: ["src/client/browser.ts"], outfile: "public/client/edgechat.js" };

/** The demo page's script. @type {BuildOptions} */
export const demoBundle = { ...browser, entryPoints: ["src/app/demo/main.ts"], outfile: "public/demo.js" };
