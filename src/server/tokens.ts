import { SignJWT, jwtVerify } from "jose";
import { isValidRoomName, ProtocolError, RESERVED_ATTRIBUTE_NAMES } from "../protocol/index.js";

/** What a token grants: rooms the bearer may join or listen to, and server-trusted attributes. */
export interface Grant {
  rooms: string[];
  attributes: Record<string, string>;
}

export const EMPTY_GRANT: Grant = Object.freeze({ rooms: [], attributes: {} }) as Grant;

function keyOf(secret: string): Uint8Array {
  return new TextEncoder().encode(secret);
}

/** Verifies an HS256 token (spec section 6); any flaw is invalid_token and grants nothing. */
export async function verifyToken(token: string, secret: string): Promise<Grant> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keyOf(secret), { algorithms: ["HS256"], requiredClaims: ["exp"] }));
  } catch (error) {
    const reason = (error as { code?: string }).code === "ERR_JWT_EXPIRED" ? "token expired" : "token not valid";
    throw new ProtocolError("invalid_token", reason);
  }
  // jose treats exp as "now > exp"; the spec rejects at now >= exp.
  if (typeof payload.exp !== "number" || Date.now() / 1000 >= payload.exp) {
    throw new ProtocolError("invalid_token", "token expired");
  }
  const rooms = payload.rooms ?? [];
  if (!Array.isArray(rooms) || !rooms.every((room) => typeof room === "string")) {
    throw new ProtocolError("invalid_token", 'token claim "rooms" must be an array of room names');
  }
  const attributes = payload.attributes ?? {};
  if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
    throw new ProtocolError("invalid_token", 'token claim "attributes" must be an object');
  }
  const granted: Record<string, string> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value !== "string") {
      throw new ProtocolError("invalid_token", 'token claim "attributes" must have string values');
    }
    // id and room are built-in filter fields; a token cannot shadow them.
    if (!RESERVED_ATTRIBUTE_NAMES.has(key)) granted[key] = value;
  }
  return { rooms: rooms.filter(isValidRoomName), attributes: granted };
}

export async function mintToken(grant: Grant, ttlSeconds: number, secret: string): Promise<{ token: string; expiresAt: number }> {
  // exp is in whole seconds; rounding up means a token never expires before the ttl asked for.
  const exp = Math.ceil((Date.now() + ttlSeconds * 1000) / 1000);
  const token = await new SignJWT({ rooms: grant.rooms, attributes: grant.attributes })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(keyOf(secret));
  return { token, expiresAt: exp * 1000 };
}
