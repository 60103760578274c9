import { ProtocolError } from "./errors.js";

/**
 * Where a connection stands in a room's stream. `seq` numbers the room's broadcasts (spec
 * section 4); `epoch` names the stream itself: a random value created with the room's storage, so
 * a room whose storage was lost or reset (and whose seq restarted at 1) has a different epoch.
 * The welcome and the OK data of `roomChange` / `listenToRoom` carry the room's point at the
 * moment the connection was added, so a client has a resume point for every room it is in.
 */
export interface ResumePoint {
  seq: number;
  epoch: string;
}

/**
 * What a client gives to resume a room after a drop (`?since=&epoch=&session=` on /connect, or
 * the same names on `roomChange` / `listenToRoom`):
 * - `since`: the last seq it saw; the room replays every kept broadcast after it, before anything live;
 * - `epoch`: the epoch that seq belongs to; a different one (or a `since` above the room's seq)
 *   means the stream restarted, and the client gets a `gap` with reason "reset", then everything kept;
 * - `session`: the session of its earlier connections (the welcome's `session`); the connection
 *   adopts it, and never receives what that session sent, whatever its connection id was then.
 */
export interface ResumeArgs {
  since?: number;
  epoch?: string;
  session?: string;
}

const EPOCH = /^[A-Za-z0-9_-]{1,64}$/;
const SESSION = /^[A-Za-z0-9._:-]{1,128}$/;

/** A new random epoch: 64 bits as 16 hex characters. */
export function newEpoch(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  let hex = "";
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return hex;
}

/** A seq to resume after: a whole number from 0 (the start) up to Number.MAX_SAFE_INTEGER. */
export function parseSince(value: unknown): number {
  const number = typeof value === "string" && /^\s*[0-9]+\s*$/.test(value) ? Number(value) : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number) || number < 0) {
    throw new ProtocolError("bad_request", `since must be a whole number from 0 to ${Number.MAX_SAFE_INTEGER}`);
  }
  return number;
}

export function parseEpoch(value: unknown): string {
  if (typeof value !== "string" || !EPOCH.test(value)) {
    throw new ProtocolError("bad_request", "epoch must be the epoch the server gave (1-64 characters A-Z a-z 0-9 _ -)");
  }
  return value;
}

export function parseSession(value: unknown): string {
  if (typeof value !== "string" || !SESSION.test(value)) {
    throw new ProtocolError("bad_request", "session must be the session the server gave (1-128 characters A-Z a-z 0-9 . _ : -)");
  }
  return value;
}

/**
 * Reads the resume fields from a lookup (a JSON body, a line's `name=value` options, or a query
 * string); absent, null or empty values are absent. Throws bad_request on a malformed one.
 */
export function parseResumeArgs(field: (name: "since" | "epoch" | "session") => unknown): ResumeArgs {
  const args: ResumeArgs = {};
  const present = (value: unknown) => value !== undefined && value !== null && value !== "";
  const since = field("since");
  const epoch = field("epoch");
  const session = field("session");
  if (present(since)) args.since = parseSince(since);
  if (present(epoch)) args.epoch = parseEpoch(epoch);
  if (present(session)) args.session = parseSession(session);
  if (args.epoch !== undefined && args.since === undefined) {
    throw new ProtocolError("bad_request", "epoch goes with since: the seq it belongs to");
  }
  return args;
}
