import type { ErrorCode, GatewayRefusalCode, RefusalCode } from "./errors.js";
import type { ResumePoint } from "./resume.js";

/** Server → client messages (spec section 4). Each is one WebSocket frame or one gateway line. */

/**
 * The first frame of every connection. `seq`/`epoch` are the first room's resume point when the
 * connection was added to it; `session` is what a later connection gives (`?session=`) so that it
 * never receives what this one sent.
 */
export interface WelcomeMessage extends ResumePoint {
  context: "api";
  welcome: string;
  room: string;
  id: string;
  session: string;
}

export interface OkResponse {
  context: "response";
  status: "OK";
  messageCount: number;
  data: unknown;
  requestId?: unknown;
}

export interface ErrorResponse {
  context: "response";
  status: "error";
  code: ErrorCode;
  error: string;
  messageCount: number;
  requestId?: unknown;
}

export type NoticeEvent = "join" | "leave";

export interface ChatMessage {
  context: "user";
  message: unknown;
  room: string;
  from: string;
  sentAt: number;
  seq: number;
  event?: NoticeEvent;
}

/**
 * Why a resume could not be gap-free:
 * - "expired": `since` is older than what the room keeps; seqs `from`+1 … `to` are gone for good;
 * - "reset": the room's stream restarted (storage lost or reset: another `epoch`, or a `since`
 *   above the room's seq). Whatever followed `since` in the old stream is gone, and so are seqs
 *   1 … `to` of the new one (`from` is 0).
 * Everything the room keeps after `to` follows, in order.
 */
export type GapReason = "expired" | "reset";

/** Sent before a replay that cannot start right after `since`. */
export interface GapMessage {
  context: "api";
  event: "gap";
  room: string;
  from: number;
  to: number;
  /** The room's current epoch: resume from (`to`, `epoch`) plus what follows. */
  epoch: string;
  reason: GapReason;
}

/**
 * A big room's members count, instead of join/leave notices: a room with more members than
 * PRESENCE_NOTICE_LIMIT sends this (at most once a second, when the count changed) to its members
 * and listeners. Not numbered, not kept in history.
 */
export interface PresenceMessage {
  context: "api";
  event: "presence";
  room: string;
  membersCount: number;
}

export interface GoodbyeMessage {
  context: "api";
  status: "Bye!";
  reason: string;
}

export interface RefusalMessage {
  context: "api";
  status: "error";
  code: RefusalCode | GatewayRefusalCode;
  error: string;
}

/** A `sendMessage` payload as it arrives: the sender's object, always with `event: "direct"`. */
export type DirectMessage = Record<string, unknown> & { context: unknown; event: "direct" };

/** Anything a server may send. */
export type ServerMessage =
  | WelcomeMessage
  | OkResponse
  | ErrorResponse
  | ChatMessage
  | GoodbyeMessage
  | GapMessage
  | PresenceMessage
  | RefusalMessage
  | DirectMessage;

export const JOIN_TEXT = "I have entered the room";
export const LEAVE_TEXT = "I have left the room";

export const GOODBYE_REASONS = {
  quit: "quit",
  exit: "exit",
  shuttingDown: "server shutting down",
  tooSlow: "too slow",
  idle: "idle timeout",
} as const;

export function welcome(text: string, room: string, id: string, session: string, point: ResumePoint): WelcomeMessage {
  return { context: "api", welcome: text, room, id, session, seq: point.seq, epoch: point.epoch };
}

export function okResponse(messageCount: number, data: unknown, requestId?: unknown): OkResponse {
  const response: OkResponse = { context: "response", status: "OK", messageCount, data };
  if (requestId !== undefined) response.requestId = requestId;
  return response;
}

export function errorResponse(code: ErrorCode, error: string, messageCount: number, requestId?: unknown): ErrorResponse {
  const response: ErrorResponse = { context: "response", status: "error", code, error, messageCount };
  if (requestId !== undefined) response.requestId = requestId;
  return response;
}

export function chatMessage(fields: Omit<ChatMessage, "context">): ChatMessage {
  const message: ChatMessage = {
    context: "user",
    message: fields.message,
    room: fields.room,
    from: fields.from,
    sentAt: fields.sentAt,
    seq: fields.seq,
  };
  if (fields.event) message.event = fields.event;
  return message;
}

export function noticeText(event: NoticeEvent): string {
  return event === "join" ? JOIN_TEXT : LEAVE_TEXT;
}

/** The `event` every direct message carries, whatever the sender put there. */
export const DIRECT_EVENT = "direct";

/**
 * A `sendMessage` payload (spec section 4): objects keep their own `context` (default "user") and
 * `type` overrides theirs; anything else (arrays included) is wrapped. `event` is always "direct",
 * set by the server over any `event` of the sender's: whatever else the object holds (a `status`,
 * a `seq`, a `context` of "response"), a gateway or client can never take it for a protocol frame.
 */
export function directMessage(message: unknown, type?: string): Record<string, unknown> {
  const isPlainObject = typeof message === "object" && message !== null && !Array.isArray(message);
  const body: Record<string, unknown> = isPlainObject
    ? { ...(message as Record<string, unknown>) }
    : { context: "user", message };
  const shaped = isPlainObject && !Object.hasOwn(body, "context") ? { context: "user", ...body } : body;
  if (type !== undefined) shaped.type = type;
  shaped.event = DIRECT_EVENT;
  return shaped;
}

export function gap(room: string, from: number, to: number, epoch: string, reason: GapReason): GapMessage {
  return { context: "api", event: "gap", room, from, to, epoch, reason };
}

export function presence(room: string, membersCount: number): PresenceMessage {
  return { context: "api", event: "presence", room, membersCount };
}

export function goodbye(reason: string): GoodbyeMessage {
  return { context: "api", status: "Bye!", reason };
}

/** A refused connect: from the Worker (then closed with REFUSAL_CLOSE_CODES[code]) or from the gateway. */
export function refusal(code: RefusalCode | GatewayRefusalCode, error: string): RefusalMessage {
  return { context: "api", status: "error", code, error };
}
