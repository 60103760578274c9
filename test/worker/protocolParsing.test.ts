/**
 * Unit tests of the shared protocol module (src/protocol): request parsing, filters, message
 * builders, room names, text sizes and limits. No sockets, no objects.
 */
import { describe, expect, it } from "vitest";
import {
  chatMessage,
  charLength,
  DEFAULT_LIMITS,
  directMessage,
  ERROR_CODES,
  errorResponse,
  goodbye,
  isPrivateRoom,
  isValidRoomName,
  makeFilter,
  matchesFilter,
  noticeText,
  okResponse,
  parseRequest,
  ProtocolError,
  REFUSAL_CLOSE_CODES,
  refusal,
  utf8Length,
  welcome,
  type ParsedRequest,
} from "../../src/protocol/index.js";
import { resolveSettings } from "../../src/server/settings.js";

function request(text: string): unknown {
  const parsed = parseRequest(text);
  if (!parsed.ok) throw new Error(`expected ${JSON.stringify(text)} to parse, got ${parsed.error.code}: ${parsed.error.message}`);
  return parsed.request;
}

function errorOf(text: string): { code: string; requestId?: unknown } {
  const parsed: ParsedRequest = parseRequest(text);
  if (parsed.ok) throw new Error(`expected ${JSON.stringify(text)} to fail, got ${JSON.stringify(parsed.request)}`);
  expect(parsed.error).toBeInstanceOf(ProtocolError);
  expect(parsed.error.message.length).toBeGreaterThan(0);
  return parsed.requestId === undefined ? { code: parsed.error.code } : { code: parsed.error.code, requestId: parsed.requestId };
}

describe("parseRequest: line form", () => {
  it("say keeps everything after the first space, spaces included", () => {
    expect(request("say Hello World")).toEqual({ verb: "say", message: "Hello World" });
    expect(request("say  two  spaces ")).toEqual({ verb: "say", message: " two  spaces " });
    expect(request("say {\"not\":\"json\"}")).toEqual({ verb: "say", message: '{"not":"json"}' });
  });

  it("say with no or empty message is bad_request", () => {
    expect(errorOf("say")).toEqual({ code: "bad_request" });
    expect(errorOf("say ")).toEqual({ code: "bad_request" });
  });

  it("room verbs take a trimmed room", () => {
    expect(request("roomChange lobby")).toEqual({ verb: "roomChange", room: "lobby" });
    expect(request("roomChange   lobby  ")).toEqual({ verb: "roomChange", room: "lobby" });
    expect(request("listenToRoom a.b:c-d_e")).toEqual({ verb: "listenToRoom", room: "a.b:c-d_e" });
    expect(request("silenceRoom lobby")).toEqual({ verb: "silenceRoom", room: "lobby" });
    expect(request("roomView")).toEqual({ verb: "roomView" });
    expect(request("roomView lobby")).toEqual({ verb: "roomView", room: "lobby" });
  });

  it("missing room arguments are bad_request, bad names invalid_room", () => {
    for (const text of ["roomChange", "roomChange  ", "listenToRoom", "silenceRoom", "silenceRoom \t"]) {
      expect(errorOf(text)).toEqual({ code: "bad_request" });
    }
    for (const text of ["roomChange a/b", `roomChange ${"x".repeat(65)}`, "listenToRoom é", "silenceRoom a*", "roomView #"]) {
      expect(errorOf(text)).toEqual({ code: "invalid_room" });
    }
  });

  it("paramAdd: the first '=' or space separates key and value; k= sets an empty value", () => {
    expect(request("paramAdd team=team_a")).toEqual({ verb: "paramAdd", key: "team", value: "team_a" });
    expect(request("paramAdd team team_a")).toEqual({ verb: "paramAdd", key: "team", value: "team_a" });
    expect(request("paramAdd k=")).toEqual({ verb: "paramAdd", key: "k", value: "" });
    expect(request("paramAdd a=b=c")).toEqual({ verb: "paramAdd", key: "a", value: "b=c" });
    expect(request("paramAdd a b=c")).toEqual({ verb: "paramAdd", key: "a", value: "b=c" });
    expect(request("paramAdd a=b c")).toEqual({ verb: "paramAdd", key: "a", value: "b c" });
    expect(request("paramAdd   k=v   ")).toEqual({ verb: "paramAdd", key: "k", value: "v" });
  });

  it("paramAdd without key or separator, paramDelete/paramView/auth without argument: bad_request", () => {
    for (const text of ["paramAdd", "paramAdd  ", "paramDelete", "paramDelete  ", "paramView", "auth", "auth   "]) {
      expect(errorOf(text)).toEqual({ code: "bad_request" });
    }
  });

  it("paramDelete, paramView, auth take one trimmed argument; the rest take none", () => {
    expect(request("paramDelete  team ")).toEqual({ verb: "paramDelete", key: "team" });
    expect(request("paramView team")).toEqual({ verb: "paramView", key: "team" });
    expect(request("auth abc.def.ghi")).toEqual({ verb: "auth", token: "abc.def.ghi" });
    for (const verb of ["detailsView", "paramsView", "paramsDelete", "quit", "exit"]) expect(request(verb)).toEqual({ verb });
  });

  it("unknown and wrongly-cased verbs are unknown_verb", () => {
    for (const text of ["shout hi", "Say hi", "SAY hi", "roomchange x", "QUIT", "Exit", "ping", "[1]", "42"]) {
      expect(errorOf(text)).toEqual({ code: "unknown_verb" });
    }
  });

  it("empty and whitespace-only text is bad_request", () => {
    for (const text of ["", " ", "\t\r\n", "   \n"]) expect(errorOf(text)).toEqual({ code: "bad_request" });
  });
});

describe("parseRequest: JSON form", () => {
  it("is chosen by a first non-blank '{'", () => {
    expect(request('{"event":"paramsView"}')).toEqual({ verb: "paramsView" });
    expect(request(' \t\n{"event":"paramsView"}')).toEqual({ verb: "paramsView" });
  });

  it("parses every verb's arguments", () => {
    expect(request('{"event":"say","message":{"any":"json"}}')).toEqual({ verb: "say", message: { any: "json" } });
    expect(request('{"event":"say","message":null}')).toEqual({ verb: "say", message: null });
    expect(request('{"event":"say","message":""}')).toEqual({ verb: "say", message: "" });
    expect(request('{"event":"roomChange","room":"lobby"}')).toEqual({ verb: "roomChange", room: "lobby" });
    expect(request('{"event":"listenToRoom","room":"lobby"}')).toEqual({ verb: "listenToRoom", room: "lobby" });
    expect(request('{"event":"silenceRoom","room":"lobby"}')).toEqual({ verb: "silenceRoom", room: "lobby" });
    expect(request('{"event":"roomView"}')).toEqual({ verb: "roomView" });
    expect(request('{"event":"roomView","room":"lobby"}')).toEqual({ verb: "roomView", room: "lobby" });
    expect(request('{"event":"paramAdd","key":"team","value":"team_a"}')).toEqual({ verb: "paramAdd", key: "team", value: "team_a" });
    expect(request('{"event":"paramAdd","key":"k","value":""}')).toEqual({ verb: "paramAdd", key: "k", value: "" });
    expect(request('{"event":"paramDelete","key":"k"}')).toEqual({ verb: "paramDelete", key: "k" });
    expect(request('{"event":"paramView","key":"k"}')).toEqual({ verb: "paramView", key: "k" });
    expect(request('{"event":"auth","token":"t"}')).toEqual({ verb: "auth", token: "t" });
    for (const verb of ["detailsView", "paramsView", "paramsDelete", "quit", "exit"]) expect(request(JSON.stringify({ event: verb }))).toEqual({ verb });
  });

  it("say carries roomMatchKey / roomMatchValue, the value as a string", () => {
    expect(request('{"event":"say","message":"m","roomMatchKey":"team","roomMatchValue":"a"}')).toEqual({
      verb: "say",
      message: "m",
      roomMatchKey: "team",
      roomMatchValue: "a",
    });
    expect(request('{"event":"say","message":"m","roomMatchValue":42}')).toEqual({ verb: "say", message: "m", roomMatchValue: "42" });
    expect(request('{"event":"say","message":"m","roomMatchValue":true}')).toEqual({ verb: "say", message: "m", roomMatchValue: "true" });
    expect(request('{"event":"say","message":"m","roomMatchKey":"id"}')).toEqual({ verb: "say", message: "m", roomMatchKey: "id" });
  });

  it("invalid JSON, missing or non-string event: bad_request", () => {
    for (const text of ["{", '{"event":"say"', "{event:1}", '{"event":"say",}']) expect(errorOf(text)).toEqual({ code: "bad_request" });
    for (const text of ["{}", '{"event":1}', '{"event":null}', '{"event":["say"]}', '{"event":{}}']) {
      expect(errorOf(text).code).toBe("bad_request");
    }
  });

  it("unknown or wrongly-cased events are unknown_verb", () => {
    for (const event of ["shout", "Say", "roomchange", "", "constructor", "__proto__", "toString"]) {
      expect(errorOf(JSON.stringify({ event })).code).toBe("unknown_verb");
    }
  });

  it("missing, empty or mistyped arguments: bad_request; bad room names: invalid_room", () => {
    for (const body of [
      { event: "say" },
      { event: "roomChange" },
      { event: "roomChange", room: "" },
      { event: "roomChange", room: 5 },
      { event: "listenToRoom" },
      { event: "silenceRoom", room: null },
      { event: "paramAdd", key: "k" },
      { event: "paramAdd", key: "k", value: 1 },
      { event: "paramAdd", key: "", value: "v" },
      { event: "paramAdd", value: "v" },
      { event: "paramDelete" },
      { event: "paramView", key: "" },
      { event: "auth" },
      { event: "auth", token: "" },
    ]) {
      expect(errorOf(JSON.stringify(body)).code).toBe("bad_request");
    }
    for (const body of [
      { event: "roomChange", room: "a b" },
      { event: "listenToRoom", room: "x".repeat(65) },
      { event: "silenceRoom", room: "a/b" },
      { event: "roomView", room: "?" },
    ]) {
      expect(errorOf(JSON.stringify(body)).code).toBe("invalid_room");
    }
  });

  it("keeps requestId on success and on every error after the JSON parsed", () => {
    expect(parseRequest('{"event":"paramsView","requestId":"a"}')).toEqual({ ok: true, request: { verb: "paramsView" }, requestId: "a" });
    expect(parseRequest('{"event":"paramsView","requestId":0}')).toMatchObject({ ok: true, requestId: 0 });
    expect(parseRequest('{"event":"paramsView"}')).not.toHaveProperty("requestId");
    expect(errorOf('{"requestId":1}')).toEqual({ code: "bad_request", requestId: 1 });
    expect(errorOf('{"event":3,"requestId":2}')).toEqual({ code: "bad_request", requestId: 2 });
    expect(errorOf('{"event":"nope","requestId":3}')).toEqual({ code: "unknown_verb", requestId: 3 });
    expect(errorOf('{"event":"say","requestId":4}')).toEqual({ code: "bad_request", requestId: 4 });
    expect(errorOf('{"event":"roomChange","room":"a b","requestId":{"x":5}}')).toEqual({ code: "invalid_room", requestId: { x: 5 } });
    expect(errorOf('{"event":"say","requestId":6')).toEqual({ code: "bad_request" });
  });
});

describe("filters", () => {
  const recipient = { id: "conn-1", room: "lobby", attributes: new Map([["team", "team_a"], ["empty", ""]]) };

  it("makeFilter needs both key and value; values become strings", () => {
    expect(makeFilter(undefined, undefined)).toBeUndefined();
    expect(makeFilter("team", undefined)).toBeUndefined();
    expect(makeFilter(undefined, "team_a")).toBeUndefined();
    expect(makeFilter(null, "x")).toBeUndefined();
    expect(makeFilter("team", null)).toBeUndefined();
    expect(makeFilter("team", "team_a")).toEqual({ key: "team", value: "team_a" });
    expect(makeFilter("level", 3)).toEqual({ key: "level", value: "3" });
    expect(makeFilter("auth", true)).toEqual({ key: "auth", value: "true" });
  });

  it("matchesFilter looks at id, room and attributes, and a missing field never matches", () => {
    expect(matchesFilter(undefined, recipient)).toBe(true);
    expect(matchesFilter({ key: "id", value: "conn-1" }, recipient)).toBe(true);
    expect(matchesFilter({ key: "id", value: "conn-2" }, recipient)).toBe(false);
    expect(matchesFilter({ key: "room", value: "lobby" }, recipient)).toBe(true);
    expect(matchesFilter({ key: "room", value: "other" }, recipient)).toBe(false);
    expect(matchesFilter({ key: "team", value: "team_a" }, recipient)).toBe(true);
    expect(matchesFilter({ key: "team", value: "team_b" }, recipient)).toBe(false);
    expect(matchesFilter({ key: "empty", value: "" }, recipient)).toBe(true);
    for (const value of ["", "undefined", "null"]) expect(matchesFilter({ key: "missing", value }, recipient)).toBe(false);
    expect(matchesFilter({ key: "constructor", value: "function Map() { [native code] }" }, recipient)).toBe(false);
    expect(matchesFilter({ key: "size", value: "2" }, recipient)).toBe(false);
  });
});

describe("server messages", () => {
  it("builds the welcome, responses, goodbye and refusal exactly", () => {
    expect(welcome("Hi", "lobby", "id-1", "id-1", { seq: 7, epoch: "e1" })).toEqual({
      context: "api",
      welcome: "Hi",
      room: "lobby",
      id: "id-1",
      session: "id-1",
      seq: 7,
      epoch: "e1",
    });
    expect(okResponse(1, { a: 1 })).toEqual({ context: "response", status: "OK", messageCount: 1, data: { a: 1 } });
    expect(okResponse(2, null, "r")).toEqual({ context: "response", status: "OK", messageCount: 2, data: null, requestId: "r" });
    expect(errorResponse("not_in_room", "no", 3)).toEqual({ context: "response", status: "error", code: "not_in_room", error: "no", messageCount: 3 });
    expect(errorResponse("bad_request", "bad", 4, 0)).toEqual({
      context: "response",
      status: "error",
      code: "bad_request",
      error: "bad",
      messageCount: 4,
      requestId: 0,
    });
    expect(goodbye("quit")).toEqual({ context: "api", status: "Bye!", reason: "quit" });
    expect(refusal("invalid_room", "bad name")).toEqual({ context: "api", status: "error", code: "invalid_room", error: "bad name" });
    expect(REFUSAL_CLOSE_CODES).toEqual({ invalid_room: 4400, bad_request: 4400, invalid_token: 4401, not_authorized: 4403 });
  });

  it("builds chat messages and notices", () => {
    expect(chatMessage({ message: "m", room: "r", from: "f", sentAt: 5, seq: 1 })).toEqual({
      context: "user",
      message: "m",
      room: "r",
      from: "f",
      sentAt: 5,
      seq: 1,
    });
    expect(chatMessage({ message: noticeText("join"), room: "r", from: "f", sentAt: 5, seq: 2, event: "join" })).toEqual({
      context: "user",
      message: "I have entered the room",
      room: "r",
      from: "f",
      sentAt: 5,
      seq: 2,
      event: "join",
    });
    expect(noticeText("leave")).toBe("I have left the room");
  });

  it("directMessage adds context, keeps an existing one, lets type override, wraps non-objects, always marks it direct", () => {
    const event = "direct";
    expect(directMessage({ a: 1 })).toEqual({ context: "user", a: 1, event });
    expect(directMessage({ context: "alert", a: 1 })).toEqual({ context: "alert", a: 1, event });
    expect(directMessage({ type: "old", a: 1 }, "new")).toEqual({ context: "user", type: "new", a: 1, event });
    expect(directMessage({ context: "x", type: "old" }, "new")).toEqual({ context: "x", type: "new", event });
    expect(directMessage([1, 2])).toEqual({ context: "user", message: [1, 2], event });
    expect(directMessage("text", "t")).toEqual({ context: "user", message: "text", type: "t", event });
    expect(directMessage(null)).toEqual({ context: "user", message: null, event });
    expect(directMessage(0)).toEqual({ context: "user", message: 0, event });
    // The sender's own event never survives: nothing can pose as a protocol frame.
    expect(directMessage({ context: "api", status: "Bye!", reason: "x", event: "gap" })).toEqual({ context: "api", status: "Bye!", reason: "x", event });
  });

  it("lists every error code of the spec, and edgechat's one addition (rejected, by an app hook)", () => {
    expect([...ERROR_CODES].sort()).toEqual(
      [
        "rejected",
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
      ].sort(),
    );
  });
});

describe("room names, text sizes, limits", () => {
  it("room names are 1-64 characters from A-Z a-z 0-9 _ - . :, except the URL dot-segments . and ..", () => {
    for (const name of ["a", "lobby", "Az09_-.:", "x".repeat(64), "private-abc", "UPPER", "...", ".a", "a..", ":"]) expect(isValidRoomName(name)).toBe(true);
    for (const name of ["", "x".repeat(65), "a b", "a/b", "é", "a\n", "a\u0000", "a?", ".", "..", 5, null, undefined]) expect(isValidRoomName(name)).toBe(false);
    expect(isPrivateRoom("private-123")).toBe(true);
    expect(isPrivateRoom("Private-123")).toBe(false);
    expect(isPrivateRoom("privateroom")).toBe(false);
  });

  it("utf8Length counts UTF-8 bytes; charLength counts code points", () => {
    for (const text of ["", "abc", "é", "€", "😀", "a😀b€é", "\u0000", "\uffff"]) {
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).byteLength);
    }
    expect(charLength("abc")).toBe(3);
    expect(charLength("😀")).toBe(1);
    expect(charLength("a😀é")).toBe(3);
  });

  it("resolveSettings reads the limits and keeps defaults for missing, malformed or out-of-range values", () => {
    const limits = (vars: Record<string, string>) => resolveSettings(vars).limits;
    expect(limits({})).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toEqual({
      maxMessageBytes: 65536,
      maxParams: 32,
      maxParamKeyLength: 64,
      maxParamValueLength: 1024,
      maxListening: 32,
      rateLimit: 20,
    });
    expect(limits({ MAX_PARAMS: "5", RATE_LIMIT: "100", MAX_LISTENING: "" })).toMatchObject({ maxParams: 5, rateLimit: 100, maxListening: 32 });
    expect(limits({ MAX_PARAMS: "-1", RATE_LIMIT: "abc" })).toMatchObject({ maxParams: 32, rateLimit: 20 });
    // Numbers at the edges: beyond a setting's range, not whole, or not finite, the default stays.
    expect(limits({ MAX_MESSAGE_BYTES: "1e300", MAX_PARAMS: "2.5", MAX_LISTENING: "Infinity", RATE_LIMIT: "0.5" })).toMatchObject({
      maxMessageBytes: 65536,
      maxParams: 32,
      maxListening: 32,
      rateLimit: 0.5,
    });
    const settings = resolveSettings({ HISTORY_SIZE: "1.8e305", IDLE_TIMEOUT_SECONDS: "-5", SWEEP_INTERVAL_SECONDS: "2" });
    // Settings in code override the names and are checked against the same ranges.
    expect(resolveSettings({ MAX_PARAMS: "5" }, { maxParams: 7, rateLimit: 1e9, historySize: 10 }).limits).toMatchObject({ maxParams: 7, rateLimit: 20 });
    expect(resolveSettings({ MAX_PARAMS: "5" }, { historySize: 10 }, false)).toMatchObject({ historySize: 10, limits: { maxParams: 32 } });
    expect(settings).toMatchObject({ historySize: 100, idleTimeoutMs: 600_000, sweepIntervalMs: 2000 });
  });
});
