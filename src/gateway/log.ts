/** How bad a gateway log event is. */
export type LogLevel = "info" | "warn" | "error";

/**
 * What the gateway logs, one JSON line each (README "The TCP gateway"):
 * - `connect`: a TCP client connected;
 * - `disconnect`: it is gone, with `reason` (a goodbye reason or "client closed") and `durationMs`;
 * - `refusal`: a connection refused before any upstream opened, with its `code`;
 * - `error`: an upstream, server or internal error, with `what` and `message`.
 */
export type LogEvent = "connect" | "disconnect" | "refusal" | "error";

/** Fields of one event beyond ts, level, component and event; undefined ones are left out. */
export type LogFields = Record<string, string | number | boolean | undefined>;

/**
 * Writes structured log lines to a sink (the `log` option; stdout by default): `ts` (ISO 8601),
 * `level`, `component` ("gateway"), `event`, then the event's fields — `client` (ip:port), and
 * once the welcome has arrived the connection's `id` and `room` (the room it started in).
 */
export class GatewayLog {
  constructor(private readonly sink: (line: string) => void) {}

  write(level: LogLevel, event: LogEvent, fields: LogFields): void {
    this.sink(JSON.stringify({ ts: new Date().toISOString(), level, component: "gateway", event, ...fields }));
  }
}
