import { readFileSync } from "node:fs";

/**
 * KEY=VALUE lines of a .dev.vars-style file, as wrangler reads them (comments and blank lines
 * skipped, optional `export`, optional quotes). `npm start`, the tests and the bench all read the
 * committed `.dev.vars.example` (or a developer's `.dev.vars`) through this.
 * @param {string} path
 * @returns {Record<string, string>}
 */
export function readDevVars(path) {
  /** @type {Record<string, string>} */
  const settings = {};
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    settings[match[1]] = match[2].replace(/^(["'])(.*)\1$/, "$2");
  }
  return settings;
}
