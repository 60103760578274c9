// Runs the TCP gateway (src/gateway/cli.ts, bundled here as scripts/build.mjs would) as its own
// process in front of a running Worker, and stops it by PID.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { gatewayBundle } from "../../scripts/bundles.mjs";

export async function startGatewayProcess(upstream, gatewaySecret) {
  if (!existsSync("src/gateway/cli.ts")) throw new Error("src/gateway/cli.ts does not exist");
  const dir = mkdtempSync(join(tmpdir(), "edgechat-bench-gw-"));
  const outfile = join(dir, "gateway.mjs");
  await build({
    ...gatewayBundle,
    outfile,
    packages: undefined,
    // Self-contained (the temp dir has no node_modules); CommonJS deps need a require.
    banner: { js: 'import { createRequire as __cr } from "node:module"; const require = __cr(import.meta.url);' },
    external: ["bufferutil", "utf-8-validate"],
    logLevel: "error",
  });
  const child = spawn(process.execPath, [outfile, "--port", "0", "--host", "127.0.0.1", "--upstream", upstream, "--gateway-secret", gatewaySecret, "--max-connections-per-ip", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, MAX_STALL_MS: "0" },
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  let output = "";
  const port = await Promise.race([
    new Promise((resolve) => {
      const onData = (d) => {
        output += d;
        const m = /listening on tcp:\/\/[^\s]*:(\d+)/.exec(output);
        if (m) resolve(Number(m[1]));
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
    }),
    exited.then(() => {
      throw new Error(`gateway exited: ${output.slice(0, 400)}`);
    }),
    new Promise((_, reject) => setTimeout(() => reject(new Error("gateway not listening in 10 s")), 10000)),
  ]);
  // Keep draining its per-connection log lines so the pipe never blocks it.
  child.stdout.resume();
  child.stderr.resume();
  return {
    pid: child.pid,
    url: `tcp://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
