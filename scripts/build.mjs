// Builds what runs outside workerd: the TCP gateway (Node) and the browser client bundle that the
// demo page and other sites load. wrangler runs this before `dev` and `deploy` ([build] in wrangler.toml).
import { build } from "esbuild";
import { existsSync } from "node:fs";

const targets = [
  {
    entryPoints: ["src/gateway/cli.ts"],
    outfile: "dist/gateway.mjs",
    platform: "node",
    target: "node20",
    format: "esm",
    bundle: true,
    packages: "external",
  },
  {
    entryPoints: ["src/client/browser.ts"],
    outfile: "public/client/edgechat.js",
    platform: "browser",
    target: "es2022",
    format: "esm",
    bundle: true,
    minify: true,
    sourcemap: true,
  },
  {
    entryPoints: ["src/client/demo.ts"],
    outfile: "public/demo.js",
    platform: "browser",
    target: "es2022",
    format: "esm",
    bundle: true,
    minify: true,
    sourcemap: true,
  },
];

for (const options of targets) {
  if (!existsSync(options.entryPoints[0])) continue; // a part not written yet
  await build({ logLevel: "warning", ...options });
}
