import { PONG } from "./transport.js";
import {
  DIRECT_EVENT,
  type ChatMessage,
  type DirectMessage,
  type ErrorResponse,
  type GapMessage,
  type GoodbyeMessage,
  type OkResponse,
  type PresenceMessage,
  type RefusalMessage,
  type WelcomeMessage,
} from "./messages.js";

/** A server frame, sorted by what a gateway or client does with it. */
export type ServerFrame =
  | { kind: "pong" }
  | { kind: "welcome"; message: WelcomeMessage }
  | { kind: "response"; message: OkResponse | ErrorResponse }
  /** A chat message, a server broadcast, or a join/leave notice (`event`). */
  | { kind: "chat"; message: ChatMessage }
  | { kind: "gap"; message: GapMessage }
  | { kind: "presence"; message: PresenceMessage }
  | { kind: "goodbye"; message: GoodbyeMessage }
  | { kind: "refusal"; message: RefusalMessage }
  | { kind: "direct"; message: DirectMessage }
  /** Not JSON, or nothing this version knows: ignore it. */
  | { kind: "unknown"; text: string };

type Fields = Record<string, unknown>;

/**
 * Decodes one frame the server sent (a WebSocket text frame, or a gateway line without its `\n`).
 * The gateway and the client both read frames through this, by their fields, never by byte
 * prefixes or key order. Direct messages are recognized first by the `event` the server always
 * sets on them, so a direct message that looks like a response, goodbye or chat message is still
 * only a direct message.
 */
export function decodeServerFrame(text: string): ServerFrame {
  if (text === PONG) return { kind: "pong" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "unknown", text };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { kind: "unknown", text };
  const m = value as Fields;
  // Whatever else it holds (a `context` that is not even a string): the server's marker decides.
  if (m.event === DIRECT_EVENT) return { kind: "direct", message: m as DirectMessage };
  if (m.context === "response" && (m.status === "OK" || m.status === "error") && typeof m.messageCount === "number") {
    return { kind: "response", message: m as unknown as OkResponse | ErrorResponse };
  }
  if (m.context === "api") {
    if (typeof m.welcome === "string" && typeof m.id === "string") return { kind: "welcome", message: m as unknown as WelcomeMessage };
    if (m.status === "Bye!") return { kind: "goodbye", message: m as unknown as GoodbyeMessage };
    if (m.status === "error" && typeof m.code === "string") return { kind: "refusal", message: m as unknown as RefusalMessage };
    if (m.event === "gap" && typeof m.room === "string") return { kind: "gap", message: m as unknown as GapMessage };
    if (m.event === "presence" && typeof m.room === "string" && typeof m.membersCount === "number") {
      return { kind: "presence", message: m as unknown as PresenceMessage };
    }
  }
  if (m.context === "user" && typeof m.room === "string" && typeof m.seq === "number" && typeof m.from === "string") {
    return { kind: "chat", message: m as unknown as ChatMessage };
  }
  return { kind: "unknown", text };
}
