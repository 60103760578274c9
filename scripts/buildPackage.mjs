// Builds what `npm pack` publishes besides the bundles of scripts/build.mjs: every entry point of
// package.json `exports` as JS (ES modules) + .d.ts under dist/, one tsc run per runtime:
// - tsconfig.build.server.json: `edgechat` (src/server) against the Workers types;
// - tsconfig.build.node.json: `edgechat/client`, `edgechat/gateway` against Node + DOM.
// Both compile src/protocol (`edgechat/protocol`); the server build's copy is the one kept, so the
// two parallel runs never write the same file. dist/gateway.mjs (the CLI bundle) is
// scripts/build.mjs's and is left alone.
import { spawn } from "node:child_process";
import { rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

/** Runs tsc on one config; resolves with its output, rejects with it when it fails. */
function compile(config, outDir) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [tsc, "-p", join(root, config), "--outDir", outDir], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(output) : reject(new Error(`tsc -p ${config} failed:\n${output}`))));
  });
}

const dist = join(root, "dist");
const nodeOut = join(dist, ".node-build");
// Stale files of renamed or deleted modules must not ship.
const clean = (dirs) => Promise.all(dirs.map((dir) => rm(join(dist, dir), { recursive: true, force: true })));
await clean(["server", "client", "gateway", "protocol", ".node-build"]);
try {
  // Two processes, one per core (tsc is single-threaded).
  await Promise.all([compile("tsconfig.build.server.json", dist), compile("tsconfig.build.node.json", nodeOut)]);
  for (const dir of ["client", "gateway"]) await rename(join(nodeOut, dir), join(dist, dir));
  await clean([".node-build"]);
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
