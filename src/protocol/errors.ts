/** Error codes a client can receive in a response (spec section 4). */
export const ERROR_CODES = [
  "unknown_verb",
  "bad_request",
  "invalid_room",
  "not_authorized",
  "already_listening",
  "not_listening",
  "not_in_room",
  "message_too_large",
  "too_many_params",
  "too_many_rooms",
  "rate_limited",
  "invalid_token",
  // edgechat's addition: the app refused the request in one of its hooks (say moderation, …).
  "rejected",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** A request that cannot be carried out; becomes an error response, never a closed connection. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}

/**
 * WebSocket close codes for a refused connect (spec section 10). `bad_request` (a malformed
 * `since`, `epoch`, `session` or `params` in the query) shares 4400 with `invalid_room`: both are
 * "the request itself is wrong, retrying it cannot help"; the refusal message names the code.
 */
export const REFUSAL_CLOSE_CODES = {
  invalid_room: 4400,
  bad_request: 4400,
  invalid_token: 4401,
  not_authorized: 4403,
} as const;

export type RefusalCode = keyof typeof REFUSAL_CLOSE_CODES;

/**
 * Refusals the TCP gateway gives by itself, before it opens an upstream (so no room ever sees the
 * client): one line `{"context":"api","status":"error","code","error"}`, then the TCP connection
 * closes. They never happen on a WebSocket, so they have no close code.
 * - `too_many_connections`: the client address already holds `--max-connections-per-ip` connections.
 */
export const GATEWAY_REFUSAL_CODES = ["too_many_connections"] as const;

export type GatewayRefusalCode = (typeof GATEWAY_REFUSAL_CODES)[number];
