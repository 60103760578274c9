import {
  charLength,
  isValidRoomName,
  makeFilter,
  ProtocolError,
  RESERVED_ATTRIBUTE_NAMES,
  ROOM_NAME_RULE,
  type MatchFilter,
} from "../../protocol/index.js";
import { chatRoomsOf, type ChatRooms, type RoomHandle } from "../api/chatRooms.js";
import type { ChatContext } from "../options.js";
import { constantTimeEqual } from "../secrets.js";
import type { Settings } from "../settings.js";
import { HttpError, json, readJsonObject } from "./http.js";

/**
 * The admin HTTP API (spec section 2) under `<prefix>/api`, a thin layer over the typed server API
 * (`chatRooms`). Every call needs the admin bearer token unless the app checks calls itself
 * (`bearer` false: RouteOptions.authorizeAdmin). `path` is what follows `<prefix>/api/`.
 */
export async function handleApi(request: Request, context: ChatContext, path: string[], bearer = true): Promise<Response> {
  const { settings } = context;
  const chat = chatRoomsOf(context);
  if (bearer) authorizeAdmin(request, settings);
  const [resource, name, action, ...rest] = path;
  if (rest.length > 0) throw notFound();
  if (resource === "rooms" && name === undefined) {
    allow(request, "GET");
    return json(await chat.rooms(new URL(request.url).searchParams.get("after") ?? ""));
  }
  if (resource === "rooms" && name !== undefined && action === "broadcast") {
    allow(request, "POST");
    const room = roomParam(chat, name);
    const body = await readJsonObject(request);
    if (!Object.hasOwn(body, "message")) throw new HttpError(400, "bad_request", 'the body needs a "message"');
    return json(await room.broadcast(body.message, { filter: filterOf(body), idempotencyKey: idempotencyKey(request) }));
  }
  if (resource === "rooms" && name !== undefined && action === undefined) {
    allow(request, "GET");
    const room = roomParam(chat, name);
    const cursor = new URL(request.url).searchParams.get("cursor") || undefined;
    return json(await asBadRequest(() => room.status(cursor)));
  }
  if (resource === "connections" && name !== undefined && action === "messages") {
    allow(request, "POST");
    return sendMessage(request, chat, decodePathPart(name));
  }
  if (resource === "connections" && name !== undefined && action === "attributes") {
    allow(request, "PATCH");
    return setAttributes(request, chat, settings, decodePathPart(name));
  }
  if (resource === "private-rooms" && name === undefined) {
    allow(request, "POST");
    return json({ room: chat.newPrivateRoom() });
  }
  if (resource === "tokens" && name === undefined) {
    allow(request, "POST");
    return createToken(request, chat, settings);
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

function roomParam(chat: ChatRooms, raw: string): RoomHandle {
  const room = decodePathPart(raw);
  if (!isValidRoomName(room)) throw new HttpError(400, "invalid_room", `invalid room name: ${ROOM_NAME_RULE}`);
  return chat.room(room);
}

/** Runs a protocol check; its ProtocolError becomes a 400 with the same code and text. */
async function asBadRequest<T>(check: () => T | Promise<T>): Promise<T> {
  try {
    return await check();
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

/** The same rule as a JSON `say`: the key is a string; the value a string, or a number or boolean compared as its text. */
function filterOf(body: Record<string, unknown>): MatchFilter | undefined {
  const key = body.roomMatchKey;
  const value = body.roomMatchValue;
  if (key !== undefined && key !== null && typeof key !== "string") throw new HttpError(400, "bad_request", '"roomMatchKey" must be a string');
  if (value !== undefined && value !== null && typeof value === "object") throw new HttpError(400, "bad_request", '"roomMatchValue" must be a string');
  return makeFilter(key, value);
}

async function sendMessage(request: Request, chat: ChatRooms, id: string): Promise<Response> {
  const body = await readJsonObject(request);
  if (!Object.hasOwn(body, "message")) throw new HttpError(400, "bad_request", 'the body needs a "message"');
  if (body.type !== undefined && typeof body.type !== "string") throw new HttpError(400, "bad_request", '"type" must be a string');
  const key = idempotencyKey(request);
  if (!(await chat.connection(id).send(body.message, { type: body.type as string | undefined, idempotencyKey: key }))) {
    throw new HttpError(404, "not_found", "no such connection");
  }
  return json({ id, delivered: true });
}

async function setAttributes(request: Request, chat: ChatRooms, settings: Settings, id: string): Promise<Response> {
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
  const attributes = await asBadRequest(() => chat.connection(id).setAttributes(patch as Record<string, string | null>));
  if (!attributes) throw new HttpError(404, "not_found", "no such connection");
  return json({ id, attributes });
}

/** Tokens live at most a year (and a day): longer-lived grants belong in the app's own sessions. */
const MAX_TOKEN_TTL_SECONDS = 366 * 86_400;

async function createToken(request: Request, chat: ChatRooms, settings: Settings): Promise<Response> {
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
  const minted = await chat.mintToken({ rooms: rooms as string[], attributes: attributes as Record<string, string> }, ttl);
  return json(minted);
}
