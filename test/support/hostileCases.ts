import type { Message } from "./wsClient.js";

/**
 * The hostile-input table (spec sections 3, 4, 7 and 10), shared by the WebSocket and the TCP
 * gateway halves of test/e2e/hostile.test.ts. Each case is one request a hostile client sends in
 * a room where an observer sits; the runner checks the answer, messageCount, that the connection
 * still works, that the observer saw nothing odd and that the room kept its seq and members.
 */
export interface HostileCase {
  name: string;
  /** A text frame / line (objects are JSON-encoded), or raw bytes (binary frame / raw TCP bytes). */
  frame: string | Message | Buffer;
  /** Error codes accepted (usually one), or "OK". */
  expect: readonly string[] | "OK";
  /** For OK cases that broadcast: the message the observer must receive. */
  broadcast?: unknown;
  /** Checks the relayed message instead of a deep equality (for values too deep to compare recursively). */
  check?: (message: unknown) => boolean;
  /** For OK cases that broadcast to nobody here (a filter matches no one): the seq is used all the same. */
  usesSeq?: boolean;
  /** The requestId the response must carry (JSON cases). */
  requestId?: unknown;
  only?: "ws" | "tcp";
}

export const MAX = 65536;

const code = (...codes: string[]) => codes;
const BAD = code("bad_request");

/** A JSON frame padded with spaces inside the message so that it is exactly `bytes` long. */
export function jsonSayOfSize(bytes: number): { frame: string; message: string } {
  const empty = JSON.stringify({ event: "say", message: "" });
  const message = "x".repeat(bytes - Buffer.byteLength(empty));
  return { frame: JSON.stringify({ event: "say", message }), message };
}

/** How deeply nested a value of nested arrays is (counted without recursion). */
export function depthOf(message: unknown): number {
  let depth = 0;
  for (let value = message; Array.isArray(value); value = value[0]) depth++;
  return depth;
}

export function deep(depth: number, open = "[", close = "]"): string {
  return open.repeat(depth) + close.repeat(depth);
}

let rid = 0;
/** A JSON request with a fresh requestId that the response must echo. */
function j(body: Record<string, unknown>, name: string, expect: readonly string[] | "OK", extra: Partial<HostileCase> = {}): HostileCase {
  rid += 1;
  const requestId = `rid-${rid}`;
  return { name, frame: { ...body, requestId }, expect, requestId, ...extra };
}

const MISSING = Symbol("missing");
const WRONG_TYPES: [string, unknown][] = [
  ["missing", MISSING],
  ["a number", 5],
  ["null", null],
  ["true", true],
  ["an array", ["lobby"]],
  ["an object", { room: "lobby" }],
  ["empty", ""],
];

function withField(base: Record<string, unknown>, field: string, value: unknown): Record<string, unknown> {
  const body = { ...base };
  if (value !== MISSING) body[field] = value;
  return body;
}

export function hostileCases(): HostileCase[] {
  const cases: HostileCase[] = [];
  const add = (c: HostileCase) => cases.push(c);

  // ---- sizes ----
  add({ name: "line say of exactly MAX_MESSAGE_BYTES is allowed", frame: `say ${"x".repeat(MAX - 4)}`, expect: "OK", broadcast: "x".repeat(MAX - 4) });
  add({ name: "line say of MAX_MESSAGE_BYTES + 1 is message_too_large", frame: `say ${"x".repeat(MAX - 3)}`, expect: code("message_too_large") });
  {
    const exact = jsonSayOfSize(MAX);
    add({ name: "JSON say of exactly MAX_MESSAGE_BYTES is allowed", frame: exact.frame, expect: "OK", broadcast: exact.message });
    add({ name: "JSON say of MAX_MESSAGE_BYTES + 1 is message_too_large", frame: jsonSayOfSize(MAX + 1).frame, expect: code("message_too_large") });
  }
  add({ name: "2-byte characters: exactly MAX bytes (fewer characters) is allowed", frame: `say ${"é".repeat((MAX - 4) / 2)}`, expect: "OK", broadcast: "é".repeat((MAX - 4) / 2) });
  add({ name: "2-byte characters: MAX + 1 bytes (fewer than MAX characters) is message_too_large", frame: `say ${"é".repeat((MAX - 4) / 2)}x`, expect: code("message_too_large") });
  add({ name: "4-byte characters (surrogate pairs): exactly MAX bytes is allowed", frame: `say ${"😀".repeat((MAX - 4) / 4)}`, expect: "OK", broadcast: "😀".repeat((MAX - 4) / 4) });
  add({ name: "4-byte characters (surrogate pairs): MAX + 1 bytes is message_too_large", frame: `say ${"😀".repeat((MAX - 4) / 4)}x`, expect: code("message_too_large") });
  add({ name: "a 512 KiB frame (below the 1 MiB hard cap) is message_too_large and the connection stays", frame: `say ${"y".repeat(512 * 1024)}`, expect: code("message_too_large") });
  add({ name: "an oversize JSON frame with a requestId is message_too_large", frame: JSON.stringify({ event: "roomView", pad: "z".repeat(MAX), requestId: "big" }), expect: code("message_too_large") });

  // ---- not JSON / not an object / no event ----
  add({ name: "invalid JSON is bad_request", frame: '{"event":"say","message":', expect: BAD });
  add({ name: "a lone { is bad_request", frame: "{", expect: BAD });
  add({ name: "JSON with a trailing garbage is bad_request", frame: '{"event":"roomView"} x', expect: BAD });
  add({ name: "JSON with a leading blank is still JSON form", frame: '   {"event":"roomView"}', expect: "OK" });
  add({ name: "a JSON array is line form: unknown_verb", frame: '["say","hi"]', expect: code("unknown_verb") });
  add({ name: "a JSON string is line form: unknown_verb", frame: '"say hi"', expect: code("unknown_verb") });
  add({ name: "JSON null is line form: unknown_verb", frame: "null", expect: code("unknown_verb") });
  add({ name: "a JSON number is line form: unknown_verb", frame: "12345", expect: code("unknown_verb") });
  add({ name: "an object without event is bad_request", frame: "{}", expect: BAD });
  for (const [label, value] of [["a number", 5], ["null", null], ["true", true], ["an array", ["say"]], ["an object", { verb: "say" }]] as [string, unknown][]) {
    add(j({ event: value, message: "x" }, `"event" that is ${label} is bad_request (requestId echoed)`, BAD));
  }
  add({ name: "event hidden in __proto__ is not an event: bad_request", frame: '{"__proto__":{"event":"roomView"}}', expect: BAD });

  // ---- deep nesting ----
  add({ name: "a nested JSON message (depth 200) is relayed intact", frame: `{"event":"say","message":${deep(200)}}`, expect: "OK", broadcast: JSON.parse(deep(200)) });
  add({ name: "a nested JSON message of objects (depth 200) is relayed intact", frame: `{"event":"say","message":${'{"a":'.repeat(200)}1${"}".repeat(200)}}`, expect: "OK", broadcast: JSON.parse(`${'{"a":'.repeat(200)}1${"}".repeat(200)}`) });
  for (const depth of [1000, 30000]) {
    add({
      name: `a deeply nested JSON message (depth ${depth}) is relayed intact or refused as bad_request, nothing in between`,
      frame: `{"event":"say","message":${deep(depth)}}`,
      expect: ["OK", "bad_request"],
      broadcast: "(checked by depth)",
      check: (message) => depthOf(message) === depth,
    });
  }
  add({ name: "deeply nested JSON (depth 20000) in a room field is bad_request", frame: `{"event":"roomChange","room":${deep(20000)}}`, expect: BAD });
  add({ name: "deeply nested JSON objects (depth 10000) without event is bad_request", frame: `${'{"a":'.repeat(10000)}1${"}".repeat(10000)}`, expect: BAD });
  add({ name: "deeply nested line-form text is just text", frame: `say ${deep(5000)}`, expect: "OK", broadcast: deep(5000) });

  // ---- unknown verbs (case-sensitive, no prototype lookups) ----
  for (const verb of ["nope", "SAY", "Say", "roomchange", "__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "ping2", "PING"]) {
    add({ name: `line verb ${JSON.stringify(verb)} is unknown_verb`, frame: `${verb} hello`, expect: code("unknown_verb") });
  }
  for (const verb of ["", "nope", "SAY", "__proto__", "constructor", "toString", "say ", " say"]) {
    add(j({ event: verb, message: "x" }, `JSON event ${JSON.stringify(verb)} is unknown_verb`, code("unknown_verb")));
  }
  add({ name: "a blank-prefixed ping is a request, not the keep-alive: unknown_verb", frame: " ping", expect: code("unknown_verb") });

  // ---- wrong types and missing fields, every verb ----
  for (const verb of ["roomChange", "listenToRoom", "silenceRoom"]) {
    for (const [label, value] of WRONG_TYPES) {
      add(j(withField({ event: verb }, "room", value), `${verb}: "room" ${label} is bad_request`, BAD));
    }
    add(j({ event: verb, room: "not a room" }, `${verb}: an invalid room name is invalid_room`, code("invalid_room")));
    add({ name: `line ${verb} with no room is bad_request`, frame: `${verb}`, expect: BAD });
    add({ name: `line ${verb} with a blank room is bad_request`, frame: `${verb}    `, expect: BAD });
  }
  for (const [label, value] of WRONG_TYPES.filter(([label]) => !["missing", "null"].includes(label))) {
    add(j({ event: "roomView", room: value }, `roomView: "room" ${label} is bad_request`, BAD));
  }
  for (const [label, value] of WRONG_TYPES) {
    add(j(withField({ event: "paramAdd", value: "v" }, "key", value), `paramAdd: "key" ${label} is bad_request`, BAD));
  }
  for (const [label, value] of WRONG_TYPES.filter(([label]) => label !== "empty")) {
    add(j(withField({ event: "paramAdd", key: "k" }, "value", value), `paramAdd: "value" ${label} is bad_request`, BAD));
  }
  for (const verb of ["paramDelete", "paramView"]) {
    for (const [label, value] of WRONG_TYPES) {
      add(j(withField({ event: verb }, "key", value), `${verb}: "key" ${label} is bad_request`, BAD));
    }
    add({ name: `line ${verb} with no key is bad_request`, frame: verb, expect: BAD });
  }
  for (const [label, value] of WRONG_TYPES) {
    add(j(withField({ event: "auth" }, "token", value), `auth: "token" ${label} is refused`, code("bad_request", "invalid_token")));
  }
  add({ name: "line auth with no token is bad_request", frame: "auth   ", expect: BAD });
  add(j({ event: "say" }, 'say: "message" missing is bad_request', BAD));
  for (const [label, value] of [["an object", { a: 1 }], ["an array", ["id"]]] as [string, unknown][]) {
    add(j({ event: "say", message: "x", roomMatchKey: value, roomMatchValue: "v" }, `say: "roomMatchKey" ${label} is bad_request`, BAD));
    add(j({ event: "say", message: "x", roomMatchKey: "id", roomMatchValue: value }, `say: "roomMatchValue" ${label} is bad_request`, BAD));
  }
  add(j({ event: "say", message: null }, "say: a null message is allowed in JSON form", "OK", { broadcast: null }));
  add(j({ event: "say", message: { nested: { list: [1, "two", null] } } }, "say: an object message is relayed as is", "OK", { broadcast: { nested: { list: [1, "two", null] } } }));
  add({ name: "line say with no message is bad_request", frame: "say", expect: BAD });
  add({ name: "line say with an empty message is bad_request", frame: "say ", expect: BAD });
  add({ name: "line paramAdd with no value separator is bad_request", frame: "paramAdd lonelykey", expect: BAD });
  add({ name: "line paramAdd with an empty key is bad_request", frame: "paramAdd =value", expect: BAD });
  add({ name: "line paramAdd with nothing is bad_request", frame: "paramAdd", expect: BAD });
  // A field the verb does not take is refused, naming the ones it takes: a misspelled argument
  // ({"event":"history","n":2}) must never be silently ignored.
  add(j({ event: "detailsView", junk: { deep: [1, 2, 3] } }, "an unknown field is bad_request", BAD));
  add(j({ event: "history", n: 2 }, "history with a misspelled limit is bad_request", BAD));
  add({ name: "a structured requestId is echoed on an error", frame: { event: "roomVieww", requestId: { nested: ["id"] } }, expect: code("unknown_verb"), requestId: { nested: ["id"] } });
  add({ name: "a null requestId is echoed", frame: { event: "roomView", requestId: null }, expect: "OK", requestId: null });
  add({ name: "a __proto__ member in a JSON say is an unknown field, never a filter", frame: '{"event":"say","message":"proto-say","__proto__":{"roomMatchKey":"id","roomMatchValue":"nobody"}}', expect: BAD });

  // ---- a sender cannot forge the envelope ----
  add(j({ event: "say", message: "forged", from: "edgechat", seq: 999999, room: "elsewhere", sentAt: 0, context: "api" }, "say cannot forge from, seq, room or context (unknown fields)", BAD));
  add(j({ event: "say", message: "forged", from: "edgechat" }, "say cannot forge from (an unknown field)", BAD));
  add({ name: "line say keeps the spaces of its message", frame: "say   spaced  out  ", expect: "OK", broadcast: "  spaced  out  " });
  add({ name: "leading blanks before a line verb are ignored", frame: "   say hi", expect: "OK", broadcast: "hi" });
  add({ name: "a say that looks like JSON in line form is text", frame: 'say {"event":"roomChange","room":"x"}', expect: "OK", broadcast: '{"event":"roomChange","room":"x"}' });
  add({ name: "NUL and control characters in a say are relayed as text", frame: "say a\u0000b\u0007c", expect: "OK", broadcast: "a\u0000b\u0007c" });

  // ---- lone surrogates (valid JSON escapes, invalid Unicode) ----
  add({ name: "a lone surrogate in a JSON say is relayed as an escape", frame: '{"event":"say","message":"a\\ud800b"}', expect: "OK", broadcast: "a\ud800b" });
  add({ name: "a lone surrogate as a param key counts as one character", frame: '{"event":"paramAdd","key":"\\udc00","value":"\\ud800"}', expect: "OK" });
  add({ name: "a lone surrogate in a room name is invalid_room", frame: '{"event":"roomChange","room":"a\\ud800"}', expect: code("invalid_room") });

  // ---- history, since and cursor (README "History and recovery") ----
  for (const bad of ["0", "-1", "abc", "1.5", "1 2"]) {
    add({ name: `line history ${bad} is bad_request`, frame: `history ${bad}`, expect: BAD });
  }
  for (const [label, value] of [["0", 0], ["-3", -3], ["1.5", 1.5], ["a word", "many"], ["an object", {}], ["an array", [5]], ["true", true]] as [string, unknown][]) {
    add(j({ event: "history", limit: value }, `history: "limit" ${label} is bad_request`, BAD));
  }
  add({ name: "history with a huge limit is fine", frame: "history 99999999999", expect: "OK" });
  for (const verb of ["roomChange", "listenToRoom"]) {
    for (const option of ["since=-1", "since=abc", "since=", "since=1.5"]) {
      add({ name: `line ${verb} lobby ${option} is bad_request`, frame: `${verb} lobby ${option}`, expect: BAD });
    }
    // Extra words: a bad option, or (as the line form reads them) part of an invalid room name.
    for (const option of ["foo=1", "since=1 since"]) {
      add({ name: `line ${verb} lobby ${option} is refused`, frame: `${verb} lobby ${option}`, expect: code("bad_request", "invalid_room") });
    }
    for (const [label, value] of [["-1", -1], ["1.5", 1.5], ["a word", "abc"], ["an object", {}], ["true", true], ["an array", [1]]] as [string, unknown][]) {
      add(j({ event: verb, room: "lobby", since: value }, `${verb}: "since" ${label} is bad_request`, BAD));
    }
  }
  add(j({ event: "roomView", cursor: "1" }, 'roomView: a "cursor" without a "room" is bad_request', BAD));
  for (const cursor of ["abc", "-1", "1".repeat(16), "1.5"]) {
    add(j({ event: "roomView", room: "lobby", cursor }, `roomView: cursor ${JSON.stringify(cursor)} is bad_request`, BAD));
  }
  add(j({ event: "roomView", room: "lobby", cursor: 5 }, "roomView: a numeric cursor is bad_request", BAD));
  // A cursor is checked against its room: another room's (base64url of "1:elsewhere") is refused.
  add(j({ event: "roomView", room: "lobby", cursor: Buffer.from("1:elsewhere").toString("base64url") }, "roomView: another room's cursor is bad_request", BAD));

  // ---- a byte-order mark before a request is no part of it ----
  add({ name: "a JSON request after a byte-order mark is read as JSON", frame: '\ufeff{"event":"paramsView"}', expect: "OK" });
  add({ name: "a line request after a byte-order mark is read as a line", frame: "\ufeffsay bom", expect: "OK", broadcast: "bom" });

  // ---- dot room names are URL dot-segments, invalid everywhere (README "Server API") ----
  for (const room of [".", ".."]) {
    for (const verb of ["roomChange", "listenToRoom", "silenceRoom", "roomView"]) {
      add({ name: `line ${verb} ${room} is invalid_room`, frame: `${verb} ${room}`, expect: code("invalid_room") });
      add(j({ event: verb, room }, `${verb}: room ${JSON.stringify(room)} is invalid_room`, code("invalid_room")));
    }
  }

  // ---- resume arguments at the edges (README "History and recovery") ----
  for (const verb of ["roomChange", "listenToRoom"]) {
    for (const option of ["epoch=abc", "since=1 epoch=!!", "since=1 session=a%b", "since=1 since=2", `since=${2 ** 53}`, "since=1e3", "session="]) {
      add({ name: `line ${verb} lobby ${option} is bad_request`, frame: `${verb} lobby ${option}`, expect: BAD });
    }
    for (const [label, fields] of [
      ["an epoch without since", { epoch: "abc" }],
      ["a since above 2^53", { since: 2 ** 53 }],
      ["a session with spaces", { since: 1, session: "a b" }],
      ["an object session", { since: 1, session: {} }],
    ] as [string, Record<string, unknown>][]) {
      add(j({ event: verb, room: "lobby", ...fields }, `${verb}: ${label} is bad_request`, BAD));
    }
    // JSON numbers beyond a double parse as Infinity: still a number out of range, never a seq.
    add({ name: `${verb}: since 1e400 (Infinity) is bad_request`, frame: `{"event":"${verb}","room":"lobby","since":1e400}`, expect: BAD });
  }
  add({ name: "line roomView with too many arguments is refused", frame: "roomView lobby 1 2", expect: code("bad_request", "invalid_room") });

  // ---- filters on names every object inherits match nobody (no prototype lookups) ----
  for (const [key, value] of [
    ["constructor", "function Object() { [native code] }"],
    ["toString", "function toString() { [native code] }"],
    ["__proto__", "[object Object]"],
    ["hasOwnProperty", "function hasOwnProperty() { [native code] }"],
  ]) {
    add(j({ event: "say", message: "filtered", roomMatchKey: key, roomMatchValue: value }, `say filtered on ${key} reaches nobody`, "OK", { usesSeq: true }));
  }

  // ---- room names ----
  add({ name: "roomView of a 65-character room is invalid_room", frame: `roomView ${"a".repeat(65)}`, expect: code("invalid_room") });
  for (const bad of ["a b", "a/b", "a#b", "a?b", "café", "a\tb", "a\u0000b", "😀", "a%20b", "a\\b", "<script>", "a,b", "a*"]) {
    add(j({ event: "roomChange", room: bad }, `roomChange to ${JSON.stringify(bad)} is invalid_room`, code("invalid_room")));
  }
  add(j({ event: "listenToRoom", room: "x".repeat(65) }, "listenToRoom of a 65-character room is invalid_room", code("invalid_room")));

  // ---- empty frames and binary (WebSocket only) ----
  add({ name: "an empty text frame is bad_request", frame: "", expect: BAD, only: "ws" });
  add({ name: "a whitespace-only text frame is bad_request", frame: "  \t  ", expect: BAD, only: "ws" });
  add({ name: "a binary frame is bad_request", frame: Buffer.from("say hi"), expect: BAD, only: "ws" });
  add({ name: "an empty binary frame is bad_request", frame: Buffer.alloc(0), expect: BAD, only: "ws" });
  add({ name: "a binary frame of MAX_MESSAGE_BYTES + 1 is bad_request", frame: Buffer.alloc(MAX + 1, 0x61), expect: BAD, only: "ws" });
  add({ name: "a browser sending the gateway's one-byte control frame gets bad_request", frame: Buffer.from([1]), expect: BAD, only: "ws" });

  // ---- raw TCP bytes: telnet commands and line ends (README "The TCP gateway") ----
  // Each is one line with its own line end; the runner's next line must be answered as usual.
  const raw = (...parts: (string | number[])[]) => Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part) : Buffer.from(part))));
  const MALFORMED_TELNET: [string, number[]][] = [
    ["a lone IAC (0xFF)", [0xff]],
    ["IAC WILL without its option", [0xff, 0xfb]],
    ["IAC DONT without its option", [0xff, 0xfe]],
    ["IAC SB without IAC SE", [0xff, 0xfa]],
    ["IAC SB NAWS with data but no IAC SE", [0xff, 0xfa, 0x1f, 0x00, 0x50]],
    ["IAC and a byte that is no telnet command", [0xff, 0x20]],
    ["IAC IAC and a lone IAC", [0xff, 0xff, 0xff]],
  ];
  for (const [label, bytes] of MALFORMED_TELNET) {
    for (const end of ["\n", "\r\n", "\r"]) {
      add({ name: `a line with ${label} before ${JSON.stringify(end)} is bad_request and merges with nothing`, frame: raw("say x", bytes, end), expect: BAD, only: "tcp" });
    }
  }
  add({ name: "a line with IAC IAC (a 0xFF data byte, not UTF-8) is bad_request", frame: raw("say x", [0xff, 0xff], "\n"), expect: BAD, only: "tcp" });
  add({
    name: "well-formed telnet commands inside a line (WILL, NOP, SB ... SE, AYT) are removed",
    frame: raw("say ", [0xff, 0xfb, 0x01], "tel", [0xff, 0xf1], "n", [0xff, 0xfa, 0x18, 0x00, 0x41, 0x4e, 0x53, 0x49, 0xff, 0xf0], "e", [0xff, 0xf6], "t\r\n"),
    expect: "OK",
    broadcast: "telnet",
    only: "tcp",
  });
  add({ name: "a subnegotiation carrying an escaped IAC IAC is removed whole", frame: raw("say sub", [0xff, 0xfa, 0x18, 0xff, 0xff, 0x01, 0xff, 0xf0], "ok\n"), expect: "OK", broadcast: "subok", only: "tcp" });
  for (const [label, end] of [["a bare CR", "\r"], ["CR NUL", "\r\u0000"], ["CR LF", "\r\n"], ["LF", "\n"], ["CR CR LF (one line, then an empty one)", "\r\r\n"]]) {
    add({ name: `${label} ends the line`, frame: raw(`say ends with ${label}`, end), expect: "OK", broadcast: `ends with ${label}`, only: "tcp" });
  }
  add({ name: "a NUL that follows no CR is text", frame: raw("say nul\u0000inside\n"), expect: "OK", broadcast: "nul\u0000inside", only: "tcp" });

  return cases;
}
