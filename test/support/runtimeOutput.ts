import type { Readable } from "node:stream";

/**
 * A Miniflare `handleRuntimeStdio` that keeps every non-blank line the runtime writes (console
 * output of the Worker and its objects, uncaught errors) in `lines`, so tests can read the logs.
 */
export function collectRuntimeLines(lines: string[]): (stdout: Readable, stderr: Readable) => void {
  return (stdout, stderr) => {
    for (const stream of [stdout, stderr]) {
      let partial = "";
      stream.setEncoding("utf8");
      stream.on("data", (text: string) => {
        const parts = (partial + text).split("\n");
        partial = parts.pop() ?? "";
        for (const line of parts) if (line.trim() !== "") lines.push(line);
      });
    }
  };
}
