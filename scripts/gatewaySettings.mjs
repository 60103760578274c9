// The gateway settings that must match the Worker's, taken from the Worker's own settings rule.
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { build } from "esbuild";
import { root } from "./workerConfig.mjs";

/**
 * What the gateway needs to mirror the Worker that `vars` configure: the Worker's `MAX_MESSAGE_BYTES`
 * (a longer line is refused at the gateway too) and `IDLE_TIMEOUT_SECONDS` (the gateway applies the idle
 * rule to TCP clients itself), as the Worker resolves them. The rule is src/server/settings.ts, bundled
 * here on the fly, not a copy: for the Worker a missing or invalid value is its default (600 s idle,
 * 65536 bytes), while the gateway would read 0 as "off" and refuse to start on a non-number.
 * @param {Record<string, string>} vars the Worker's string bindings (`[vars]` and the settings file)
 * @returns {Promise<{ args: string[], secret: string }>} gateway CLI options, and GATEWAY_SECRET ("" when unset)
 */
export async function gatewaySettingsFor(vars) {
  const bundle = await build({
    entryPoints: [join(root, "src", "server", "settings.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    write: false,
    logLevel: "error",
  });
  const { resolveSettings } = await import(`data:text/javascript;base64,${Buffer.from(bundle.outputFiles[0].text).toString("base64")}`);
  // An invalid value logs a `setting` warning; the Worker logs the same one itself, so it is not repeated here.
  const { warn } = console;
  console.warn = () => {};
  let settings;
  try {
    settings = resolveSettings(vars);
  } finally {
    console.warn = warn;
  }
  return {
    args: ["--max-message-bytes", String(settings.limits.maxMessageBytes), "--idle-timeout-seconds", String(Math.round(settings.idleTimeoutMs / 1000))],
    secret: settings.gatewaySecret ?? "",
  };
}
