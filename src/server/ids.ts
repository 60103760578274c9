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

/** The host object's id in hex, or undefined when the text is not a connection id. */
export function hostOfConnection(id: string): string | undefined {
  return CONNECTION_ID.exec(id)?.[1];
}
