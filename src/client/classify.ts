import type {
  ChatMessage,
  ErrorResponse,
  GapMessage,
  GoodbyeMessage,
  OkResponse,
  RefusalMessage,
  WelcomeMessage,
} from "../protocol/index.js";
import type { DirectMessage } from "./types.js";

/** A server frame, sorted by what the client does with it. */
export type Incoming =
  | { kind: "pong" }
  | { kind: "welcome"; message: WelcomeMessage }
  | { kind: "response"; message: OkResponse | ErrorResponse }
  | { kind: "chat"; message: ChatMessage }
  | { kind: "goodbye"; message: GoodbyeMessage }
  | { kind: "gap"; message: GapMessage }
  | { kind: "refusal"; message: RefusalMessage }
  | { kind: "direct"; message: DirectMessage }
  | { kind: "unknown"; text: string };

export function classify(text: string): Incoming {
  if (text === "pong") return { kind: "pong" };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { kind: "unknown", text };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return { kind: "unknown", text };
  const m = value as Record<string, unknown>;
  if (m.context === "response" && (m.status === "OK" || m.status === "error")) {
    return { kind: "response", message: m as unknown as OkResponse | ErrorResponse };
  }
  if (m.context === "api") {
    if (typeof m.welcome === "string" && typeof m.id === "string") return { kind: "welcome", message: m as unknown as WelcomeMessage };
    if (m.status === "Bye!") return { kind: "goodbye", message: m as unknown as GoodbyeMessage };
    if (m.status === "error" && typeof m.code === "string") return { kind: "refusal", message: m as unknown as RefusalMessage };
    if (m.event === "gap" && typeof m.room === "string") return { kind: "gap", message: m as unknown as GapMessage };
    // Other server notes about the stream are not direct messages.
    if (typeof m.event === "string") return { kind: "unknown", text };
  }
  if (
    m.context === "user" &&
    typeof m.room === "string" &&
    typeof m.seq === "number" &&
    typeof m.from === "string" &&
    typeof m.sentAt === "number"
  ) {
    return { kind: "chat", message: m as unknown as ChatMessage };
  }
  if (typeof m.context === "string") return { kind: "direct", message: m as DirectMessage };
  return { kind: "unknown", text };
}
