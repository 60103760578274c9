/**
 * The `/connect` URL for a base address: http(s) becomes ws(s), a bare origin gets `/connect`,
 * and `room`/`token`/`since` go in the query.
 */
export function connectUrl(base: string, query: { room?: string; token?: string; since?: number }): string {
  const url = new URL(base, typeof location === "undefined" ? undefined : location.href);
  if (url.protocol === "http:") url.protocol = "ws:";
  else if (url.protocol === "https:") url.protocol = "wss:";
  if (url.pathname === "" || url.pathname === "/") url.pathname = "/connect";
  if (query.room) url.searchParams.set("room", query.room);
  else url.searchParams.delete("room");
  if (query.token) url.searchParams.set("token", query.token);
  else url.searchParams.delete("token");
  if (query.since !== undefined) url.searchParams.set("since", String(query.since));
  else url.searchParams.delete("since");
  return url.toString();
}

/** The page's own `/connect` (ws: on http:, wss: on https:). */
export function sameOriginConnectUrl(loc: { protocol: string; host: string } = location): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/connect`;
}
