import { build } from "esbuild";
import { workerBundle } from "../../scripts/bundles.mjs";
import { Miniflare } from "miniflare";
import { exampleDevVars } from "./devVars.js";

export interface RunningWorker {
  /** http://127.0.0.1:<port> */
  url: string;
  /** ws://127.0.0.1:<port> */
  wsUrl: string;
  mf: Miniflare;
  dispose(): Promise<void>;
}

let bundle: Promise<string> | undefined;

/** Bundles the Worker once per test process, as `wrangler deploy` would. */
export function bundleWorker(): Promise<string> {
  bundle ??= build(workerBundle()).then((result) => result.outputFiles[0].text);
  return bundle;
}

/**
 * Runs the real Worker and room objects in local workerd on a free loopback port, with the
 * wrangler.toml defaults and the .dev.vars.example settings, plus any overrides.
 */
export async function startWorker(overrides: Record<string, string> = {}): Promise<RunningWorker> {
  const script = await bundleWorker();
  const mf = new Miniflare({
    name: "edgechat",
    modules: [{ type: "ESModule", path: "index.js", contents: script }],
    compatibilityDate: "2026-04-20",
    durableObjects: {
      ROOMS: { className: "RoomObject", useSQLite: true },
      DIRECTORY: { className: "RoomDirectory", useSQLite: true },
    },
    bindings: { ...exampleDevVars(), ...overrides },
    assets: { directory: "public", binding: "ASSETS", routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } },
    host: "127.0.0.1",
    port: 0,
    cf: false,
  });
  const ready = await mf.ready;
  const url = ready.origin;
  return {
    url,
    wsUrl: url.replace(/^http/, "ws"),
    mf,
    dispose: () => mf.dispose(),
  };
}
