import { readDevVars } from "../../scripts/devVars.mjs";

/** The committed local settings (.dev.vars.example), as `npm start` and the tests use them. */
export function exampleDevVars(path = ".dev.vars.example"): Record<string, string> {
  return readDevVars(path);
}
