import { ProtocolError } from "./errors.js";
import { isVerb, VERB_TABLE, VERBS, type ClientRequest } from "./verbs.js";

/** A parsed frame: the request, or the error to answer it with; `requestId` whenever the JSON parsed. */
export type ParsedRequest =
  | { ok: true; request: ClientRequest; requestId?: unknown }
  | { ok: false; error: ProtocolError; requestId?: unknown };

/** Parses one WebSocket text frame or one gateway line (without its line ending). */
export function parseRequest(raw: string): ParsedRequest {
  // A byte-order mark some editors and tools put first is no part of the request.
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
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
    return { ok: true, request: { verb, ...VERB_TABLE[verb].line(rest) } as ClientRequest };
  } catch (error) {
    return fail(asProtocolError(error));
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
  const spec = VERB_TABLE[event];
  const unknown = Object.keys(body).find((name) => name !== "event" && name !== "requestId" && !spec.fields.includes(name));
  if (unknown !== undefined) {
    const takes = spec.fields.length === 0 ? "no fields" : `the fields ${spec.fields.map((name) => `"${name}"`).join(", ")}`;
    return fail(new ProtocolError("bad_request", `${event} has no field ${JSON.stringify(unknown.slice(0, 40))}: it takes ${takes}`), requestId);
  }
  try {
    const field = (name: string): unknown => (Object.hasOwn(body, name) ? body[name] : undefined);
    const request = { verb: event, ...spec.json(field) } as ClientRequest;
    return requestId === undefined ? { ok: true, request } : { ok: true, request, requestId };
  } catch (error) {
    return fail(asProtocolError(error), requestId);
  }
}

function unknownVerb(verb: string): ProtocolError {
  const shown = verb.length > 40 ? `${verb.slice(0, 40)}…` : verb;
  return new ProtocolError("unknown_verb", `unknown verb ${JSON.stringify(shown)}; verbs: ${VERBS.join(", ")}`);
}

function asProtocolError(error: unknown): ProtocolError {
  if (error instanceof ProtocolError) return error;
  return new ProtocolError("bad_request", error instanceof Error ? error.message : String(error));
}
