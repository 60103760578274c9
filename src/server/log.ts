/**
 * Structured logs: one JSON object per line, so Workers Logs (`[observability]` in wrangler.toml)
 * and a local terminal show the same fields. Every line has `level`, `component` and `event`;
 * connection events carry `room` and `id`. Events: connect, disconnect (with `reason` and
 * `durationMs`), refusal (with `code`), error (with `error`).
 */
export type LogLevel = "info" | "warn" | "error";

export function logEvent(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  const line = JSON.stringify({ ts: new Date().toISOString(), level, component: "worker", event, ...fields });
  if (level === "error") console.error(line);
  else if (level === "warn") console.warn(line);
  else console.log(line);
}

/** An error as a log field: its message and the first lines of its stack. */
export function errorField(error: unknown): string {
  if (error instanceof Error) return error.stack?.split("\n").slice(0, 4).join(" | ") ?? error.message;
  return String(error);
}
