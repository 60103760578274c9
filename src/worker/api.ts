import {
  charLength,
  cursorArgument,
  isValidRoomName,
  makeFilter,
  ProtocolError,
  RESERVED_ATTRIBUTE_NAMES,
  ROOM_NAME_RULE,
  type MatchFilter,
} from "../protocol/index.js";
import { hostOfConnection } from "./connectionIds.js";
import type { Env, Settings } from "./env.js";
import { HttpError, json, readJsonObject } from "./http.js";
import { constantTimeEqual, randomHex } from "./secrets.js";
import { mintToken } from "./tokens.js";
import { directoryOf } from "../room/RoomDirectory.js";

/** The server API under /api (spec section 2). Every call needs the admin bearer token. */
export async function handleApi(request: Request, env: Env, settings: Settings, path: string[]): Promise<Response> {
  authorizeAdmin(request, settings);
  const [resource, name, action, ...rest] = path;
  if (rest.length > 0) throw notFound();
  if (resource === "rooms" && name === undefined) {
    allow(request, "GET");
    return listRooms(request, env);
  }
  if (resource === "rooms" && name !== undefined && action === "broadcast") {
    allow(request, "POST");
    return broadcast(request, env, roomParam(name));
  }
  if (resource === "rooms" && name !== undefined && action === undefined) {
    allow(request, "GET");
    const room = roomParam(name);
    const cursor = new URL(request.url).searchParams.get("cursor") || undefined;
    if (cursor !== undefined) asBadRequest(() => cursorArgument(room, cursor));
    const outcome = await roomStub(env, room).roomView(room, cursor);
    if (!outcome.ok) throw new HttpError(400, outcome.code, outcome.message);
    return json(outcome.value);
  }
  if (resource === "connections" && name !== undefined && action === "messages") {
    allow(request, "POST");
    return sendMessage(request, env, decodePathPart(name));
  }
  if (resource === "connections" && name !== undefined && action === "attributes") {
    allow(request, "PATCH");
    return setAttributes(request, env, settings, decodePathPart(name));
  }
  if (resource === "private-rooms" && name === undefined) {
    allow(request, "POST");
    return json({ room: `private-${randomHex(16)}` });
  }
  if (resource === "tokens" && name === undefined) {
    allow(request, "POST");
    return createToken(request, settings);
  }
  throw notFound();
}

function authorizeAdmin(request: Request, settings: Settings): void {
  if (!settings.adminToken) throw new HttpError(503, "not_configured", "this server has no ADMIN_TOKEN set");
  const header = request.headers.get("Authorization") ?? "";
  const match = /^Bearer\s+(.+)$/i.exec(header);
  if (!match || !constantTimeEqual(match[1].trim(), settings.adminToken)) {
    throw new HttpError(401, "unauthorized", "send Authorization: Bearer <ADMIN_TOKEN>");
  }
}

function allow(request: Request, method: string): void {
  if (request.method !== method) {
    throw new HttpError(405, "method_not_allowed", `use ${method} here`);
  }
}

function notFound(): HttpError {
  return new HttpError(404, "not_found", "no such API route");
}

/** A malformed escape is left as it is: it then fails validation like any other bad name. */
function decodePathPart(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function roomParam(raw: string): string {
  const room = decodePathPart(raw);
  if (!isValidRoomName(room)) throw new HttpError(400, "invalid_room", `invalid room name: ${ROOM_NAME_RULE}`);
  return room;
}

/** Runs a protocol check; its ProtocolError becomes a 400 with the same code and text. */
function asBadRequest<T>(check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof ProtocolError) throw new HttpError(400, error.code, error.message);
    throw error;
  }
}

/**
 * `Idempotency-Key` (the IETF draft's header, as Stripe and others use it): a retry with the same
 * key within IDEMPOTENCY_WINDOW_SECONDS answers the first result and sends nothing again.
 */
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

function idempotencyKey(request: Request): string | undefined {
  const key = request.headers.get("Idempotency-Key");
  if (key === null) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) {
    throw new HttpError(400, "bad_request", "Idempotency-Key must be 1-255 visible ASCII characters");
  }
  return key;
}

function roomStub(env: Env, room: string) {
  return env.ROOMS.get(env.ROOMS.idFromName(room));
}

function hostStub(env: Env, connectionId: string) {
  const host = hostOfConnection(connectionId);
  if (!host) return undefined;
  try {
    return env.ROOMS.get(env.ROOMS.idFromString(host));
  } catch {
    return undefined; // well-formed but not an id of this namespace
  }
}

const DIRECTORY_PAGE = 100;

/** GET /api/rooms: rooms that have members or listeners, with live counts, 100 at a time. */
async function listRooms(request: Request, env: Env): Promise<Response> {
  const after = new URL(request.url).searchParams.get("after") ?? "";
  const names = await directoryOf(env).list(after, DIRECTORY_PAGE);
  const rooms = await Promise.all(names.map((room) => roomStub(env, room).roomCounts(room)));
  const page: { rooms: unknown[]; next?: string } = { rooms: rooms.filter((room) => room.membersCount + room.listenersCount > 0) };
  if (names.length === DIRECTORY_PAGE) page.next = names[names.length - 1];
  return json(page);
}

async function broadcast(request: Request, env: Env, room: string): Promise<Response> {
  const body = await readJsonObject(request);
  if (!Object.hasOwn(body, "message")) throw new HttpError(400, "bad_request", 'the body needs a "message"');
  const filter = filterOf(body);
  return json(await roomStub(env, room).roomBroadcast(room, body.message, filter, idempotencyKey(request)));
}

function filterOf(body: Record<string, unknown>): MatchFilter | undefined {
  for (const field of ["roomMatchKey", "roomMatchValue"]) {
    const value = body[field];
    if (value !== undefined && value !== null && typeof value !== "string") {
      throw new HttpError(400, "bad_request", `"${field}" must be a string`);
    }
  }
  return makeFilter(body.roomMatchKey, body.roomMatchValue);
}

async function sendMessage(request: Request, env: Env, id: string): Promise<Response> {
  const body = await readJsonObject(request);
  if (!Object.hasOwn(body, "message")) throw new HttpError(400, "bad_request", 'the body needs a "message"');
  if (body.type !== undefined && typeof body.type !== "string") throw new HttpError(400, "bad_request", '"type" must be a string');
  const key = idempotencyKey(request);
  const stub = hostStub(env, id);
  if (!stub || !(await stub.hostSendDirect(id, body.message, body.type as string | undefined, key))) {
    throw new HttpError(404, "not_found", "no such connection");
  }
  return json({ id, delivered: true });
}

async function setAttributes(request: Request, env: Env, settings: Settings, id: string): Promise<Response> {
  const patch = await readJsonObject(request);
  const { maxParams, maxParamKeyLength, maxParamValueLength } = settings.limits;
  const entries = Object.entries(patch);
  if (entries.length > maxParams) throw new HttpError(400, "bad_request", `at most ${maxParams} attributes at once`);
  for (const [key, value] of entries) {
    if (key === "" || charLength(key) > maxParamKeyLength) {
      throw new HttpError(400, "bad_request", `attribute names are 1-${maxParamKeyLength} characters`);
    }
    if (RESERVED_ATTRIBUTE_NAMES.has(key)) throw new HttpError(400, "bad_request", `"${key}" is a built-in field, not an attribute`);
    if (value !== null && typeof value !== "string") {
      throw new HttpError(400, "bad_request", "attribute values are strings, or null to delete");
    }
    if (typeof value === "string" && charLength(value) > maxParamValueLength) {
      throw new HttpError(400, "bad_request", `attribute values are at most ${maxParamValueLength} characters`);
    }
  }
  const stub = hostStub(env, id);
  const attributes = stub ? await stub.hostSetAttributes(id, patch as Record<string, string | null>) : null;
  if (!attributes) throw new HttpError(404, "not_found", "no such connection");
  return json({ id, attributes });
}

/** Tokens live at most a year (and a day): longer-lived grants belong in the app's own sessions. */
const MAX_TOKEN_TTL_SECONDS = 366 * 86_400;

async function createToken(request: Request, settings: Settings): Promise<Response> {
  if (!settings.tokenSecret) throw new HttpError(503, "not_configured", "this server has no TOKEN_SECRET set");
  const body = await readJsonObject(request);
  const rooms = body.rooms;
  if (!Array.isArray(rooms) || !rooms.every((room) => typeof room === "string")) {
    throw new HttpError(400, "bad_request", '"rooms" must be an array of room names');
  }
  const badRoom = rooms.find((room) => !isValidRoomName(room));
  if (badRoom !== undefined) throw new HttpError(400, "invalid_room", `invalid room name ${JSON.stringify(String(badRoom).slice(0, 80))}: ${ROOM_NAME_RULE}`);
  const attributes = body.attributes ?? {};
  if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
    throw new HttpError(400, "bad_request", '"attributes" must be an object of strings');
  }
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value !== "string") throw new HttpError(400, "bad_request", '"attributes" values must be strings');
    if (RESERVED_ATTRIBUTE_NAMES.has(key)) throw new HttpError(400, "bad_request", `"${key}" is a built-in field, not an attribute`);
  }
  const ttl = body.ttlSeconds ?? 3600;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_TOKEN_TTL_SECONDS) {
    throw new HttpError(400, "bad_request", `"ttlSeconds" must be a number above 0 and at most ${MAX_TOKEN_TTL_SECONDS} (366 days)`);
  }
  const minted = await mintToken({ rooms: rooms as string[], attributes: attributes as Record<string, string> }, ttl, settings.tokenSecret);
  return json(minted);
}
