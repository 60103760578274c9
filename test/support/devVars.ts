import { readFileSync } from "node:fs";

/** The committed local settings (.dev.vars.example), as `npm start` and the tests use them. */
export function exampleDevVars(path = ".dev.vars.example"): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (match) vars[match[1]] = match[2].replace(/^"(.*)"$/, "$1");
  }
  return vars;
}
