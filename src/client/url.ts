/** What a `/connect` URL may carry (see the protocol: connect query). */
export interface ConnectQuery {
  room?: string;
  /** One token, or several (grants add up, as with `auth`). */
  token?: string | string[];
  since?: number;
  epoch?: string;
  session?: string;
  /** The connection's params from the start (JSON in the URL). */
  params?: Record<string, string>;
}

/**
 * The `/connect` URL for a base address: http(s) becomes ws(s), a bare origin gets `/connect`,
 * and the query fields go in the query.
 */
export function connectUrl(base: string, query: ConnectQuery): string {
  const url = new URL(base, typeof location === "undefined" ? undefined : location.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (url.pathname === "" || url.pathname === "/") url.pathname = "/connect";
  if (query.room) url.searchParams.set("room", query.room);
  else url.searchParams.delete("room");
  url.searchParams.delete("token");
  for (const token of typeof query.token === "string" ? [query.token] : (query.token ?? [])) {
    if (token) url.searchParams.append("token", token);
  }
  for (const name of ["since", "epoch", "session"] as const) {
    const value = query[name];
    if (value !== undefined) url.searchParams.set(name, String(value));
    else url.searchParams.delete(name);
  }
  if (query.params !== undefined && Object.keys(query.params).length > 0) url.searchParams.set("params", JSON.stringify(query.params));
  else url.searchParams.delete("params");
  return url.toString();
}

/** The `room` and `token` a connect URL already names (empty ones count as absent, as on the server). */
export function queryOf(base: string): { room?: string; token?: string } {
  try {
    const url = new URL(base, typeof location === "undefined" ? undefined : location.href);
    return { room: url.searchParams.get("room") || undefined, token: url.searchParams.get("token") || undefined };
  } catch {
    return {};
  }
}

/** The page's own `/connect` (ws: on http:, wss: on https:). */
export function sameOriginConnectUrl(loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/connect`;
}
