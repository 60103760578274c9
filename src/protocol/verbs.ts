import { ProtocolError } from "./errors.js";
import { cursorOrder } from "./cursor.js";
import type { ChatMessage } from "./messages.js";
import { parseResumeArgs, type ResumeArgs, type ResumePoint } from "./resume.js";
import { isValidRoomName, ROOM_NAME_RULE } from "./rooms.js";

/**
 * The verb table: every verb a client may send (spec section 3 and edgechat's additions), its
 * arguments in line and JSON form, and the `data` of its OK response. The parser, the room object
 * and the typed client all work from this table, so a verb lives in one place.
 */

// ---- response data ------------------------------------------------------------------------

export interface SayData {
  room: string;
  /** The seq the room gave the message. */
  seq: number;
}

/** `roomChange` / `listenToRoom`: the room and its resume point when the connection was added. */
export interface RoomJoinedData extends ResumePoint {
  room: string;
}

export interface RoomData {
  room: string;
}

/** One page of a room's members (presence), in the order they joined. */
export interface RoomViewData {
  room: string;
  members: string[];
  membersCount: number;
  /** Present when more members follow: pass it back (`roomView <room> <cursor>`) for the next page. */
  cursor?: string;
}

export interface DetailsData {
  id: string;
  room: string;
  listening: string[];
  params: Record<string, string>;
  attributes: Record<string, string>;
  connectedAt: number;
  remoteIP: string;
  messageCount: number;
  /** The session whose messages this connection never receives (see ResumeArgs). */
  session: string;
}

export interface AuthData {
  rooms: string[];
  attributes: Record<string, string>;
}

export interface HistoryData {
  room: string;
  messages: ChatMessage[];
}

// ---- arguments ----------------------------------------------------------------------------

export interface SayArgs {
  message: unknown;
  roomMatchKey?: string;
  roomMatchValue?: string;
}

/** Arguments and response data of each verb. */
export interface VerbShapes {
  say: { args: SayArgs; data: SayData };
  roomChange: { args: { room: string } & ResumeArgs; data: RoomJoinedData };
  listenToRoom: { args: { room: string } & ResumeArgs; data: RoomJoinedData };
  silenceRoom: { args: { room: string }; data: RoomData };
  roomView: { args: { room?: string; cursor?: string }; data: RoomViewData };
  detailsView: { args: Record<never, never>; data: DetailsData };
  paramAdd: { args: { key: string; value: string }; data: null };
  paramDelete: { args: { key: string }; data: null };
  paramView: { args: { key: string }; data: string | null };
  paramsView: { args: Record<never, never>; data: Record<string, string> };
  paramsDelete: { args: Record<never, never>; data: null };
  auth: { args: { token: string }; data: AuthData };
  history: { args: { limit?: number }; data: HistoryData };
  quit: { args: Record<never, never>; data: never };
  exit: { args: Record<never, never>; data: never };
}

export type Verb = keyof VerbShapes;
export type VerbArgs<V extends Verb> = VerbShapes[V]["args"];
export type VerbData<V extends Verb> = VerbShapes[V]["data"];
/** A parsed request: the verb and its arguments. */
export type ClientRequest = { [V in Verb]: { verb: V } & VerbArgs<V> }[Verb];
export type RequestOf<V extends Verb> = Extract<ClientRequest, { verb: V }>;

type Field = (name: string) => unknown;

interface VerbSpec<V extends Verb> {
  /** JSON fields it takes besides `event` and `requestId`; any other field is bad_request. */
  fields: readonly string[];
  /** Line form, for error messages and the docs. */
  usage: string;
  /** Parses the line-form arguments: everything after the verb and one space, untrimmed. */
  line(rest: string): VerbArgs<V>;
  /** Parses the JSON-form arguments; `field` reads an own property of the object. */
  json(field: Field): VerbArgs<V>;
}

const none = { fields: [], line: () => ({}), json: () => ({}) } as const;

const RESUME_OPTION = /^(since|epoch|session)=(.*)$/;

/** `roomChange <room> [since=<seq>] [epoch=<epoch>] [session=<session>]`. */
function roomWithResume(verb: Verb, rest: string): { room: string } & ResumeArgs {
  const words = rest.trim().split(/\s+/);
  const options = new Map<string, string>();
  for (const word of words.slice(1)) {
    const option = RESUME_OPTION.exec(word);
    // Anything that is not a resume option makes the whole argument one (invalid) room name.
    if (!option) return { room: roomArgument(verb, rest.trim()) };
    if (options.has(option[1])) throw new ProtocolError("bad_request", `${option[1]} given twice`);
    // An empty argument is a missing one (spec section 10), and an option named is one given.
    if (option[2] === "") throw new ProtocolError("bad_request", `${option[1]}= needs a value: ${VERB_TABLE[verb].usage}`);
    options.set(option[1], option[2]);
  }
  const room = roomArgument(verb, words[0] ?? "");
  return { room, ...parseResumeArgs((name) => options.get(name)) };
}

function jsonRoomWithResume(verb: Verb, field: Field): { room: string } & ResumeArgs {
  return { room: roomArgument(verb, requiredString(field("room"), "room")), ...parseResumeArgs(field) };
}

const RESUME_FIELDS = ["room", "since", "epoch", "session"] as const;

/** Every verb, in the order `unknown_verb` lists them. */
export const VERB_TABLE: { readonly [V in Verb]: VerbSpec<V> } = {
  say: {
    fields: ["message", "roomMatchKey", "roomMatchValue"],
    usage: "say <message>",
    line(rest) {
      // The message is everything after the first space, spaces kept.
      if (rest === "") throw new ProtocolError("bad_request", "say needs a message: say <message>");
      return { message: rest };
    },
    json(field) {
      const message = field("message");
      if (message === undefined) throw new ProtocolError("bad_request", 'say needs a "message"');
      const args: SayArgs = { message };
      const key = field("roomMatchKey");
      const value = field("roomMatchValue");
      if (key !== undefined && key !== null) {
        if (typeof key !== "string") throw new ProtocolError("bad_request", '"roomMatchKey" must be a string');
        args.roomMatchKey = key;
      }
      if (value !== undefined && value !== null) {
        if (typeof value === "object") throw new ProtocolError("bad_request", '"roomMatchValue" must be a string');
        args.roomMatchValue = String(value);
      }
      return args;
    },
  },
  roomChange: {
    fields: RESUME_FIELDS,
    usage: "roomChange <room> [since=<seq>] [epoch=<epoch>] [session=<session>]",
    line: (rest) => roomWithResume("roomChange", rest),
    json: (field) => jsonRoomWithResume("roomChange", field),
  },
  listenToRoom: {
    fields: RESUME_FIELDS,
    usage: "listenToRoom <room> [since=<seq>] [epoch=<epoch>] [session=<session>]",
    line: (rest) => roomWithResume("listenToRoom", rest),
    json: (field) => jsonRoomWithResume("listenToRoom", field),
  },
  silenceRoom: {
    fields: ["room"],
    usage: "silenceRoom <room>",
    line: (rest) => ({ room: roomArgument("silenceRoom", rest.trim()) }),
    json: (field) => ({ room: roomArgument("silenceRoom", requiredString(field("room"), "room")) }),
  },
  roomView: {
    fields: ["room", "cursor"],
    usage: "roomView [<room> [<cursor>]]",
    line(rest) {
      const argument = rest.trim();
      if (argument === "") return {};
      const words = argument.split(/\s+/);
      if (words.length === 2) {
        const room = roomArgument("roomView", words[0]);
        return { room, cursor: cursorArgument(room, words[1]) };
      }
      return { room: roomArgument("roomView", argument) };
    },
    json(field) {
      const room = field("room");
      const cursor = field("cursor");
      if (room === undefined || room === null) {
        if (cursor !== undefined && cursor !== null) throw new ProtocolError("bad_request", 'a "cursor" needs its "room"');
        return {};
      }
      const args: VerbArgs<"roomView"> = { room: roomArgument("roomView", requiredString(room, "room")) };
      if (cursor !== undefined && cursor !== null) args.cursor = cursorArgument(args.room as string, cursor);
      return args;
    },
  },
  detailsView: { ...none, usage: "detailsView" },
  paramAdd: {
    fields: ["key", "value"],
    usage: "paramAdd <key>=<value>",
    line(rest) {
      const argument = rest.trim();
      const separator = argument.search(/[= ]/);
      if (argument === "" || separator === -1) {
        throw new ProtocolError("bad_request", "paramAdd needs a key and a value: paramAdd key=value");
      }
      return { key: argument.slice(0, separator), value: argument.slice(separator + 1) };
    },
    json: (field) => ({ key: requiredString(field("key"), "key"), value: stringField(field("value"), "value") }),
  },
  paramDelete: {
    fields: ["key"],
    usage: "paramDelete <key>",
    line: (rest) => ({ key: requiredLineArgument("paramDelete", "key", rest) }),
    json: (field) => ({ key: requiredString(field("key"), "key") }),
  },
  paramView: {
    fields: ["key"],
    usage: "paramView <key>",
    line: (rest) => ({ key: requiredLineArgument("paramView", "key", rest) }),
    json: (field) => ({ key: requiredString(field("key"), "key") }),
  },
  paramsView: { ...none, usage: "paramsView" },
  paramsDelete: { ...none, usage: "paramsDelete" },
  auth: {
    fields: ["token"],
    usage: "auth <token>",
    line: (rest) => ({ token: requiredLineArgument("auth", "token", rest) }),
    json: (field) => ({ token: requiredString(field("token"), "token") }),
  },
  history: {
    fields: ["limit"],
    usage: "history [<limit>]",
    line: (rest) => (rest.trim() === "" ? {} : { limit: limitArgument(rest.trim()) }),
    json(field) {
      const limit = field("limit");
      return limit === undefined || limit === null ? {} : { limit: limitArgument(limit) };
    },
  },
  quit: { ...none, usage: "quit" },
  exit: { ...none, usage: "exit" },
};

export const VERBS = Object.keys(VERB_TABLE) as Verb[];

const VERB_SET: ReadonlySet<string> = new Set(VERBS);

export function isVerb(word: string): word is Verb {
  return VERB_SET.has(word);
}

// ---- argument rules -----------------------------------------------------------------------

function stringField(value: unknown, name: string): string {
  if (typeof value !== "string") throw new ProtocolError("bad_request", `"${name}" must be a string`);
  return value;
}

function requiredString(value: unknown, name: string): string {
  const text = stringField(value, name);
  if (text === "") throw new ProtocolError("bad_request", `"${name}" must not be empty`);
  return text;
}

function requiredLineArgument(verb: Verb, name: string, rest: string): string {
  const argument = rest.trim();
  if (argument === "") throw new ProtocolError("bad_request", `${verb} needs a ${name}: ${VERB_TABLE[verb].usage}`);
  return argument;
}

/** A cursor of `room` (see cursor.ts): what an earlier roomView of that room returned. */
export function cursorArgument(room: string, value: unknown): string {
  cursorOrder(room, value);
  return value as string;
}

/** `history` takes how many of the last kept messages to return, at least 1. */
function limitArgument(value: unknown): number {
  const number = typeof value === "string" && /^\s*[0-9]+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 1) {
    throw new ProtocolError("bad_request", `history takes a whole number from 1 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return number;
}

function roomArgument(verb: Verb, room: string): string {
  if (room === "") throw new ProtocolError("bad_request", `${verb} needs a room: ${VERB_TABLE[verb].usage}`);
  if (!isValidRoomName(room)) throw invalidRoom(room);
  return room;
}

export function invalidRoom(room: string): ProtocolError {
  const shown = room.length > 80 ? `${room.slice(0, 80)}…` : room;
  return new ProtocolError("invalid_room", `invalid room name ${JSON.stringify(shown)}: ${ROOM_NAME_RULE}`);
}
