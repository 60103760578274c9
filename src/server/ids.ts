import { randomHex } from "./secrets.js";

/**
 * A connection id names the object that hosts its socket (64 hex characters of the Durable Object
 * id) followed by 128 random bits, so the Worker can route /api/connections/:id to the right host
 * and nobody can guess another connection's id.
 */
const CONNECTION_ID = /^([0-9a-f]{64})\.([0-9a-f]{32})$/;

export function newConnectionId(hostObjectId: DurableObjectId): string {
  return `${hostObjectId.toString()}.${randomHex(16)}`;
}

/**
 * A new session: 128 random bits, given to the client in its welcome only (never in a broadcast),
 * so only the client can name it again to resume.
 */
export function newSession(): string {
  return `s.${randomHex(16)}`;
}

/** The host object's id in hex, or undefined when the text is not a connection id. */
export function hostOfConnection(id: string): string | undefined {
  return CONNECTION_ID.exec(id)?.[1];
}

/**
 * The name of host object `index` of a room: the room's own object for 0, else `<room>#host-<k>`
 * (`#` is no room-name character, so these never collide with a room). See Placement.
 */
export function hostName(room: string, index: number): string {
  return index === 0 ? room : `${room}#host-${index}`;
}

/**
 * The room's object answers a connect it places on another of its hosts with this status and the
 * host's index in PLACED_HOST_HEADER; the router then hands the upgrade to that host itself, so no
 * object ever sits between a client and the object holding its socket.
 */
export const PLACED_ELSEWHERE_STATUS = 307;
export const PLACED_HOST_HEADER = "X-Edgechat-Host";
