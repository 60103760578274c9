/**
 * What the client can read of a token it holds, without verifying it (only the server can): its
 * expiry and the rooms it names, from the JWT payload. Used to decide which tokens a reconnect can
 * carry in its URL (so that their grants are in force before it rejoins and replays) and whether a
 * private room can be rejoined directly. A token it cannot read is treated as expired.
 */
export interface TokenClaims {
  /** Epoch seconds. */
  exp: number;
  rooms: string[];
}

export function readClaims(token: string): TokenClaims | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const text = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(text) as { exp?: unknown; rooms?: unknown };
    if (typeof claims.exp !== "number") return undefined;
    const rooms = Array.isArray(claims.rooms) ? claims.rooms.filter((room): room is string => typeof room === "string") : [];
    return { exp: claims.exp, rooms };
  } catch {
    return undefined;
  }
}

/** Usable for at least `marginSeconds` more (clocks differ a little). */
export function stillValid(claims: TokenClaims | undefined, nowMs: number, marginSeconds = 30): claims is TokenClaims {
  return claims !== undefined && claims.exp - marginSeconds > nowMs / 1000;
}
