import { build } from "esbuild";
import { workerBundle } from "../../scripts/bundles.mjs";
import { Miniflare } from "miniflare";
import { exampleDevVars } from "./devVars.js";
import { collectRuntimeLines } from "./runtimeOutput.js";

export interface RunningWorker {
  /** http://127.0.0.1:<port> */
  url: string;
  /** ws://127.0.0.1:<port> */
  wsUrl: string;
  mf: Miniflare;
  dispose(): Promise<void>;
  /**
   * Stops the runtime and starts a new one on the same port: every socket drops, as in a deploy.
   * Over the same storage by default; `{ freshStorage: true }` starts from empty storage instead
   * (storage lost or reset). Needs `persist` at start.
   */
  restart(options?: { freshStorage?: boolean }): Promise<void>;
  /** Every line the runtime wrote to stdout or stderr (console.log of the Worker and objects, uncaught errors). */
  logs: string[];
}

export interface WorkerOptions {
  /** A directory for Durable Object storage that outlives the runtime (for restarts). */
  persist?: string;
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
export async function startWorker(overrides: Record<string, string> = {}, options: WorkerOptions = {}): Promise<RunningWorker> {
  const script = await bundleWorker();
  let persist = options.persist;
  const logs: string[] = [];
  const launch = async (port: number): Promise<Miniflare> => {
    const mf = new Miniflare({
      name: "edgechat",
      modules: [{ type: "ESModule", path: "index.js", contents: script }],
      compatibilityDate: "2026-04-20",
      durableObjects: {
        ROOMS: { className: "RoomObject", useSQLite: true },
        DIRECTORY: { className: "RoomDirectory", useSQLite: true },
      },
      durableObjectsPersist: persist ?? false,
      bindings: { ...exampleDevVars(), ...overrides },
      assets: { directory: "public", binding: "ASSETS", routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true } },
      host: "127.0.0.1",
      port,
      cf: false,
      handleRuntimeStdio: collectRuntimeLines(logs),
    });
    await mf.ready;
    return mf;
  };
  const running: RunningWorker = {
    url: "",
    wsUrl: "",
    logs,
    mf: await launch(0),
    dispose: () => running.mf.dispose(),
    async restart(restartOptions = {}) {
      if (persist === undefined) throw new Error("restart() needs startWorker(..., { persist })");
      const port = Number(new URL(running.url).port);
      await running.mf.dispose();
      if (restartOptions.freshStorage) persist = `${persist}-fresh-${Date.now()}`;
      running.mf = await launch(port);
    },
  };
  running.url = (await running.mf.ready).origin;
  running.wsUrl = running.url.replace(/^http/, "ws");
  return running;
}
