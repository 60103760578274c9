import type { ErrorCode, RefusalCode } from "./errors.js";

/** Server → client messages (spec section 4). Each is one WebSocket frame or one gateway line. */

export interface WelcomeMessage {
  context: "api";
  welcome: string;
  room: string;
  id: string;
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

/** Sent before a replay when `since` is older than the history the room keeps. */
export interface GapMessage {
  context: "api";
  event: "gap";
  room: string;
  from: number;
  to: number;
}

export interface GoodbyeMessage {
  context: "api";
  status: "Bye!";
  reason: string;
}

export interface RefusalMessage {
  context: "api";
  status: "error";
  code: RefusalCode;
  error: string;
}

/** Anything a server may send; direct messages are free-form objects with `context`. */
export type ServerMessage =
  | WelcomeMessage
  | OkResponse
  | ErrorResponse
  | ChatMessage
  | GoodbyeMessage
  | GapMessage
  | RefusalMessage
  | ({ context: string } & Record<string, unknown>);

export const JOIN_TEXT = "I have entered the room";
export const LEAVE_TEXT = "I have left the room";

export const GOODBYE_REASONS = {
  quit: "quit",
  exit: "exit",
  shuttingDown: "server shutting down",
  tooSlow: "too slow",
  idle: "idle timeout",
} as const;

export function welcome(text: string, room: string, id: string): WelcomeMessage {
  return { context: "api", welcome: text, room, id };
}

// Key order is part of the wire format: the gateway tells responses and goodbyes apart by their
// first keys without parsing every frame, so keep `context` (then `status`) first.

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

/**
 * A `sendMessage` payload: objects keep their own `context` (default "user") and `type` overrides
 * theirs; anything else (arrays included) is wrapped.
 */
export function directMessage(message: unknown, type?: string): Record<string, unknown> {
  const isPlainObject = typeof message === "object" && message !== null && !Array.isArray(message);
  const body: Record<string, unknown> = isPlainObject
    ? { ...(message as Record<string, unknown>) }
    : { context: "user", message };
  if (isPlainObject && !Object.hasOwn(body, "context")) {
    return type === undefined ? { context: "user", ...body } : { context: "user", ...body, type };
  }
  if (type !== undefined) body.type = type;
  return body;
}

export function gap(room: string, from: number, to: number): GapMessage {
  return { context: "api", event: "gap", room, from, to };
}

export function goodbye(reason: string): GoodbyeMessage {
  return { context: "api", status: "Bye!", reason };
}

export function refusal(code: RefusalCode, error: string): RefusalMessage {
  return { context: "api", status: "error", code, error };
}
