import { ProtocolError } from "./errors.js";
import { isValidRoomName } from "./rooms.js";

/** Every verb a client may send (spec section 3). Verbs are case-sensitive. */
export const VERBS = [
  "say",
  "roomChange",
  "listenToRoom",
  "silenceRoom",
  "roomView",
  "detailsView",
  "paramAdd",
  "paramDelete",
  "paramView",
  "paramsView",
  "paramsDelete",
  "auth",
  "history",
  "quit",
  "exit",
] as const;

export type Verb = (typeof VERBS)[number];

export type ClientRequest =
  | { verb: "say"; message: unknown; roomMatchKey?: string; roomMatchValue?: string }
  | { verb: "roomChange" | "listenToRoom"; room: string; since?: number }
  | { verb: "silenceRoom"; room: string }
  | { verb: "roomView"; room?: string; cursor?: string }
  | { verb: "history"; limit?: number }
  | { verb: "paramAdd"; key: string; value: string }
  | { verb: "paramDelete" | "paramView"; key: string }
  | { verb: "auth"; token: string }
  | { verb: "detailsView" | "paramsView" | "paramsDelete" | "quit" | "exit" };

/** A parsed frame: the request, or the error to answer it with; `requestId` whenever the JSON parsed. */
export type ParsedRequest =
  | { ok: true; request: ClientRequest; requestId?: unknown }
  | { ok: false; error: ProtocolError; requestId?: unknown };

const VERB_SET: ReadonlySet<string> = new Set(VERBS);

function isVerb(word: string): word is Verb {
  return VERB_SET.has(word);
}

/** Parses one WebSocket text frame or one gateway line (without its line ending). */
export function parseRequest(text: string): ParsedRequest {
  const start = text.search(/\S/);
  if (start === -1) return fail(new ProtocolError("bad_request", "empty request"));
  if (text[start] === "{") return parseJsonRequest(text);
  return parseLineRequest(text.slice(start));
}

function fail(error: ProtocolError, requestId?: unknown): ParsedRequest {
  return requestId === undefined ? { ok: false, error } : { ok: false, error, requestId };
}

function parseLineRequest(line: string): ParsedRequest {
  const gap = line.search(/\s/);
  const verb = gap === -1 ? line : line.slice(0, gap);
  const rest = gap === -1 ? "" : line.slice(gap + 1);
  if (!isVerb(verb)) return fail(unknownVerb(verb));
  try {
    return { ok: true, request: lineArguments(verb, rest) };
  } catch (error) {
    return fail(asProtocolError(error));
  }
}

function lineArguments(verb: Verb, rest: string): ClientRequest {
  const argument = rest.trim();
  switch (verb) {
    case "say":
      // The message is everything after the first space, spaces kept.
      if (rest === "") throw new ProtocolError("bad_request", "say needs a message: say <message>");
      return { verb, message: rest };
    case "roomChange":
    case "listenToRoom": {
      // `roomChange <room> [since=<seq>]`; anything else is all room name (and then invalid).
      const resume = /^(\S+)\s+since=(\S*)$/.exec(argument);
      if (!resume) return { verb, room: roomArgument(verb, argument) };
      return { verb, room: roomArgument(verb, resume[1]), since: seqArgument(resume[2]) };
    }
    case "silenceRoom":
      return { verb, room: roomArgument(verb, argument) };
    case "roomView": {
      // `roomView [<room> [<cursor>]]`
      if (argument === "") return { verb };
      const paged = /^(\S+)\s+([0-9]+)$/.exec(argument);
      if (!paged) return { verb, room: roomArgument(verb, argument) };
      return { verb, room: roomArgument(verb, paged[1]), cursor: cursorArgument(paged[2]) };
    }
    case "history":
      return argument === "" ? { verb } : { verb, limit: countArgument(argument) };
    case "paramAdd": {
      const separator = argument.search(/[= ]/);
      if (argument === "" || separator === -1) {
        throw new ProtocolError("bad_request", "paramAdd needs a key and a value: paramAdd key=value");
      }
      return { verb, key: argument.slice(0, separator), value: argument.slice(separator + 1) };
    }
    case "paramDelete":
    case "paramView":
      if (argument === "") throw new ProtocolError("bad_request", `${verb} needs a key: ${verb} <key>`);
      return { verb, key: argument };
    case "auth":
      if (argument === "") throw new ProtocolError("bad_request", "auth needs a token: auth <token>");
      return { verb, token: argument };
    default:
      return { verb };
  }
}

/**
 * JSON nested deeper than this is refused: serializing it again for a broadcast (or cloning it
 * for RPC) recurses once per level and would exhaust the stack. Real payloads are nowhere near.
 */
export const MAX_JSON_DEPTH = 1000;

export function jsonNestedDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

function parseJsonRequest(text: string): ParsedRequest {
  if (jsonNestedDeeperThan(text, MAX_JSON_DEPTH)) {
    return fail(new ProtocolError("bad_request", `JSON may be nested at most ${MAX_JSON_DEPTH} levels deep`));
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail(new ProtocolError("bad_request", "invalid JSON"));
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(new ProtocolError("bad_request", "a JSON request must be an object"));
  }
  const body = value as Record<string, unknown>;
  const requestId = Object.hasOwn(body, "requestId") ? body.requestId : undefined;
  const event = Object.hasOwn(body, "event") ? body.event : undefined;
  if (typeof event !== "string") {
    return fail(new ProtocolError("bad_request", 'a JSON request needs a string "event"'), requestId);
  }
  if (!isVerb(event)) return fail(unknownVerb(event), requestId);
  try {
    const request = jsonArguments(event, body);
    return requestId === undefined ? { ok: true, request } : { ok: true, request, requestId };
  } catch (error) {
    return fail(asProtocolError(error), requestId);
  }
}

function jsonArguments(verb: Verb, body: Record<string, unknown>): ClientRequest {
  const field = (name: string): unknown => (Object.hasOwn(body, name) ? body[name] : undefined);
  switch (verb) {
    case "say": {
      if (!Object.hasOwn(body, "message")) throw new ProtocolError("bad_request", 'say needs a "message"');
      const request: ClientRequest = { verb, message: body.message };
      const key = field("roomMatchKey");
      const value = field("roomMatchValue");
      if (key !== undefined && key !== null) {
        if (typeof key !== "string") throw new ProtocolError("bad_request", '"roomMatchKey" must be a string');
        request.roomMatchKey = key;
      }
      if (value !== undefined && value !== null) {
        if (typeof value === "object") throw new ProtocolError("bad_request", '"roomMatchValue" must be a string');
        request.roomMatchValue = String(value);
      }
      return request;
    }
    case "roomChange":
    case "listenToRoom": {
      const request: ClientRequest = { verb, room: roomArgument(verb, requiredString(field("room"), "room")) };
      const since = field("since");
      if (since !== undefined && since !== null) request.since = seqArgument(since);
      return request;
    }
    case "silenceRoom":
      return { verb, room: roomArgument(verb, requiredString(field("room"), "room")) };
    case "roomView": {
      const room = field("room");
      const cursor = field("cursor");
      if (room === undefined || room === null) {
        if (cursor !== undefined && cursor !== null) throw new ProtocolError("bad_request", 'a "cursor" needs its "room"');
        return { verb };
      }
      const request: ClientRequest = { verb, room: roomArgument(verb, requiredString(room, "room")) };
      if (cursor !== undefined && cursor !== null) request.cursor = cursorArgument(requiredString(cursor, "cursor"));
      return request;
    }
    case "history": {
      const limit = field("limit");
      return limit === undefined || limit === null ? { verb } : { verb, limit: countArgument(limit) };
    }
    case "paramAdd":
      return { verb, key: requiredString(field("key"), "key"), value: stringField(field("value"), "value") };
    case "paramDelete":
    case "paramView":
      return { verb, key: requiredString(field("key"), "key") };
    case "auth":
      return { verb, token: requiredString(field("token"), "token") };
    default:
      return { verb };
  }
}

function stringField(value: unknown, name: string): string {
  if (typeof value !== "string") throw new ProtocolError("bad_request", `"${name}" must be a string`);
  return value;
}

function requiredString(value: unknown, name: string): string {
  const text = stringField(value, name);
  if (text === "") throw new ProtocolError("bad_request", `"${name}" must not be empty`);
  return text;
}

/** A room's seq to resume after: a whole number, 0 meaning "from the start". */
function seqArgument(value: unknown): number {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0) {
    throw new ProtocolError("bad_request", "since must be a whole number of 0 or more");
  }
  return number;
}

/** roomView cursors are what an earlier roomView returned. */
export function isRoomViewCursor(value: string): boolean {
  return /^[0-9]{1,15}$/.test(value);
}

function cursorArgument(value: string): string {
  if (!isRoomViewCursor(value)) throw new ProtocolError("bad_request", "not a cursor from roomView");
  return value;
}

function countArgument(value: unknown): number {
  const number = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 1) {
    throw new ProtocolError("bad_request", "history takes a whole number of 1 or more");
  }
  return number;
}

function roomArgument(verb: Verb, room: string): string {
  if (room === "") throw new ProtocolError("bad_request", `${verb} needs a room: ${verb} <room>`);
  if (!isValidRoomName(room)) throw invalidRoom(room);
  return room;
}

export function invalidRoom(room: string): ProtocolError {
  const shown = room.length > 80 ? `${room.slice(0, 80)}…` : room;
  return new ProtocolError(
    "invalid_room",
    `invalid room name ${JSON.stringify(shown)}: use 1-64 characters from A-Z a-z 0-9 _ - . :`,
  );
}

function unknownVerb(verb: string): ProtocolError {
  const shown = verb.length > 40 ? `${verb.slice(0, 40)}…` : verb;
  return new ProtocolError("unknown_verb", `unknown verb ${JSON.stringify(shown)}; verbs: ${VERBS.join(", ")}`);
}

function asProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  return new ProtocolError("bad_request", error instanceof Error ? error.message : String(error));
}
