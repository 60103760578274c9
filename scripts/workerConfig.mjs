// What the local Worker is made of, read from wrangler.toml by the installed wrangler's own config reader
// (the one `wrangler dev` and `wrangler deploy` use), so `npm start` follows the project's config exactly:
// entry (`main`), compatibility date, Durable Object bindings (SQLite per the migrations), `[assets]`,
// `[vars]` with the settings file over them, `[build]`. Used by scripts/devWorker.mjs and scripts/start.mjs.
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (where wrangler.toml is). */
export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The settings file `npm start` uses: DEV_VARS_FILE when set, else `.dev.vars` when it exists, else the
 * committed `.dev.vars.example`. Secrets and settings in it override `[vars]`.
 * @returns {string} an absolute path
 */
export function settingsFile() {
  if (process.env.DEV_VARS_FILE) return resolve(root, process.env.DEV_VARS_FILE);
  const own = join(root, ".dev.vars");
  return existsSync(own) ? own : join(root, ".dev.vars.example");
}

/**
 * @typedef {object} WorkerConfig
 * @property {string} name the Worker's name; Durable Object storage lives under `do/<name>-<class>`
 * @property {string} main the entry module (absolute path)
 * @property {string} configPath wrangler.toml (absolute path)
 * @property {{ command?: string, cwd: string, watchDirs: string[] }} build `[build]`: its command, the
 *   directory it runs in and the directories whose changes rebuild (`watch_dir`), as absolute paths
 * @property {Record<string, unknown>} workerOptions Miniflare worker options without the script:
 *   compatibility date and flags, `bindings` (`[vars]` with the settings file over them), `durableObjects`,
 *   `assets` (with wrangler's router config for `run_worker_first`)
 * @property {Record<string, string>} vars the Worker's string bindings (`[vars]` and the settings file)
 */

/**
 * Reads wrangler.toml and the settings file as `wrangler dev --env-file <settings>` would. Importing
 * wrangler takes a second or two; it is imported once per process. wrangler's info lines ("Using secrets
 * defined in …") are left out (the callers say which file they use); its warnings and errors are not.
 * @param {string} settings the settings file (see `settingsFile`)
 * @returns {Promise<WorkerConfig>}
 */
export async function readWorkerConfig(settings) {
  const { unstable_readConfig, unstable_getMiniflareWorkerOptions } = await import("wrangler");
  const configPath = join(root, "wrangler.toml");
  const logLevel = process.env.WRANGLER_LOG;
  process.env.WRANGLER_LOG ??= "warn";
  let config, workerOptions;
  try {
    config = unstable_readConfig({ config: configPath });
    // `envFiles` is what `--env-file` sets (the typings omit it); its values replace .dev.vars.
    ({ workerOptions } = /** @type {(config: unknown, env: undefined, options: { envFiles: string[] }) => { workerOptions: Record<string, unknown> }} */ (
      unstable_getMiniflareWorkerOptions
    )(config, undefined, { envFiles: [settings] }));
  } finally {
    if (logLevel === undefined) delete process.env.WRANGLER_LOG;
  }
  if (!config.main) throw new Error(`${configPath} names no \`main\` (the Worker's entry module)`);
  // The script comes as one bundled module, so wrangler's rules for loose module files do not apply.
  const { modulesRules: _rules, ...options } = workerOptions;
  /** @type {Record<string, string>} */
  const vars = {};
  for (const [key, value] of Object.entries(/** @type {Record<string, unknown>} */ (options.bindings ?? {}))) {
    if (typeof value === "string") vars[key] = value;
  }
  const configDir = dirname(configPath);
  const { command, cwd = ".", watch_dir = "./src" } = config.build ?? {};
  // wrangler hands `watch_dir` back relative to the current directory once a command is set.
  const watchDirs = [watch_dir].flat().map((dir) => resolve(command ? process.cwd() : configDir, dir));
  return {
    name: config.name ?? "edgechat",
    main: resolve(configDir, config.main),
    configPath,
    build: { command, cwd: resolve(configDir, cwd), watchDirs },
    workerOptions: options,
    vars,
  };
}
