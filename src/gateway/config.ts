import { DEFAULT_LIMITS } from "../protocol/index.js";

/** Everything a gateway needs; see `createGateway`. */
export interface GatewayConfig {
  /** TCP port to listen on; 0 picks a free one. */
  port: number;
  host: string;
  /** Base URL of the Worker, e.g. ws://127.0.0.1:8787 (http(s) is accepted too). */
  upstream: string;
  /** `<upstream>/connect` as a ws(s) URL (derived). */
  upstreamConnectUrl: string;
  /** The Worker's GATEWAY_SECRET; without it the Worker does not trust the forwarded client address. */
  gatewaySecret?: string;
  /** Longest line in UTF-8 bytes (without its line end and telnet commands); should equal the Worker's MAX_MESSAGE_BYTES. */
  maxMessageBytes: number;
  /** Bytes waiting in a client's write buffer before it is disconnected as "too slow". */
  maxBufferBytes: number;
  /** How long a client may leave a full write buffer undrained before it is disconnected as "too slow". */
  maxStallMs: number;
  /** Send `ping` upstream for a client that sent nothing for this long, so the room's idle timeout
   * (the Worker's IDLE_TIMEOUT_SECONDS) leaves TCP clients to the gateway's own; 0 turns it off. */
  keepaliveMs: number;
  /** A client that sent no line (a request or `ping`; blank lines do not count) for this many seconds
   * gets the goodbye "idle timeout" and is closed, like the Worker's IDLE_TIMEOUT_SECONDS; 0 turns it off. */
  idleTimeoutSeconds: number;
  /** A line not finished this many seconds after its first byte ends the connection with the
   * goodbye "line timeout"; 0 turns it off. */
  lineTimeoutSeconds: number;
  /** The most TCP connections one client address may hold; the next is refused with
   * `too_many_connections` before any upstream opens. 0: no limit. */
  maxConnectionsPerIp: number;
  /** How long the upstream WebSocket handshake may take before the client is told "server unavailable". */
  connectTimeoutMs: number;
  /** After a goodbye, how long a client gets to read it before its socket is destroyed. */
  closeGraceMs: number;
  /** Where the structured log lines go, one JSON object per line (see GatewayLog); stdout by default. */
  log: (line: string) => void;
}

export const GATEWAY_DEFAULTS = {
  port: 5000,
  host: "127.0.0.1",
  upstream: "ws://127.0.0.1:8787",
  maxMessageBytes: DEFAULT_LIMITS.maxMessageBytes,
  maxBufferBytes: 1024 * 1024,
  maxStallMs: 30_000,
  keepaliveMs: 60_000,
  idleTimeoutSeconds: 600,
  lineTimeoutSeconds: 60,
  maxConnectionsPerIp: 100,
  connectTimeoutMs: 10_000,
  closeGraceMs: 2_000,
} as const;

export type GatewayOptions = Partial<Omit<GatewayConfig, "upstreamConnectUrl">> & Pick<GatewayConfig, "upstream">;

export function resolveConfig(options: GatewayOptions): GatewayConfig {
  const config: GatewayConfig = {
    port: options.port ?? GATEWAY_DEFAULTS.port,
    host: options.host ?? GATEWAY_DEFAULTS.host,
    upstream: options.upstream,
    upstreamConnectUrl: connectUrl(options.upstream),
    gatewaySecret: options.gatewaySecret || undefined,
    maxMessageBytes: options.maxMessageBytes ?? GATEWAY_DEFAULTS.maxMessageBytes,
    maxBufferBytes: options.maxBufferBytes ?? GATEWAY_DEFAULTS.maxBufferBytes,
    maxStallMs: options.maxStallMs ?? GATEWAY_DEFAULTS.maxStallMs,
    keepaliveMs: options.keepaliveMs ?? GATEWAY_DEFAULTS.keepaliveMs,
    idleTimeoutSeconds: options.idleTimeoutSeconds ?? GATEWAY_DEFAULTS.idleTimeoutSeconds,
    lineTimeoutSeconds: options.lineTimeoutSeconds ?? GATEWAY_DEFAULTS.lineTimeoutSeconds,
    maxConnectionsPerIp: options.maxConnectionsPerIp ?? GATEWAY_DEFAULTS.maxConnectionsPerIp,
    connectTimeoutMs: options.connectTimeoutMs ?? GATEWAY_DEFAULTS.connectTimeoutMs,
    closeGraceMs: options.closeGraceMs ?? GATEWAY_DEFAULTS.closeGraceMs,
    log: options.log ?? ((line) => console.log(line)),
  };
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) throw new Error(`invalid port: ${config.port}`);
  for (const key of ["maxMessageBytes", "maxBufferBytes"] as const) {
    if (!Number.isInteger(config[key]) || config[key] < 1) throw new Error(`${key} must be a positive integer`);
  }
  if (!Number.isFinite(config.connectTimeoutMs) || config.connectTimeoutMs <= 0) throw new Error("connectTimeoutMs must be positive");
  if (!Number.isInteger(config.maxConnectionsPerIp) || config.maxConnectionsPerIp < 0) throw new Error("maxConnectionsPerIp must be zero or a positive integer");
  for (const key of ["maxStallMs", "keepaliveMs", "idleTimeoutSeconds", "lineTimeoutSeconds", "closeGraceMs"] as const) {
    if (!Number.isFinite(config[key]) || config[key] < 0) throw new Error(`${key} must be zero or more`);
  }
  return config;
}

/** `<upstream>/connect` as a ws: or wss: URL, with no ?room (a TCP client starts in DEFAULT_ROOM). */
export function connectUrl(upstream: string): string {
  let url: URL;
  try {
    url = new URL(upstream);
  } catch {
    throw new Error(`invalid upstream URL: ${upstream}`);
  }
  const schemes: Record<string, string> = { "ws:": "ws:", "wss:": "wss:", "http:": "ws:", "https:": "wss:" };
  const scheme = schemes[url.protocol];
  if (!scheme) throw new Error(`upstream must be a ws://, wss://, http:// or https:// URL: ${upstream}`);
  url.protocol = scheme;
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/connect`;
  url.search = "";
  url.hash = "";
  return url.toString();
}

/** The TCP peer's address as the Worker should see it: IPv4-mapped IPv6 shown as plain IPv4. */
export function clientAddress(remoteAddress: string | undefined): string {
  if (!remoteAddress) return "";
  return remoteAddress.startsWith("::ffff:") ? remoteAddress.slice("::ffff:".length) : remoteAddress;
}
