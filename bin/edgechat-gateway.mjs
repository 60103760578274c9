#!/usr/bin/env node
// Runs the TCP gateway from its bundle (dist/gateway.mjs), building it first when it is missing.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundle = join(root, "dist", "gateway.mjs");
if (!existsSync(bundle)) {
  const build = spawnSync(process.execPath, [join(root, "scripts", "build.mjs")], { cwd: root, stdio: "inherit" });
  if (build.status !== 0 || !existsSync(bundle)) {
    console.error("edgechat-gateway: could not build dist/gateway.mjs (run `npm run build`)");
    process.exit(1);
  }
}
await import(pathToFileURL(bundle).href);
