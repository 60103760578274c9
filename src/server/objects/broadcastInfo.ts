import type { ChatMessage, MatchFilter } from "../../protocol/index.js";
import type { BroadcastInfo } from "../hooks.js";

/** A kept or live broadcast as hooks see it; the message is parsed only if a hook reads it. */
export function broadcastInfo(room: string, seq: number, payload: string, filter: MatchFilter | undefined): BroadcastInfo {
  let parsed: ChatMessage | undefined;
  const read = () => (parsed ??= JSON.parse(payload) as ChatMessage);
  return {
    room,
    seq,
    payload,
    filter,
    get from() {
      return read().from;
    },
    get event() {
      return read().event;
    },
    get message() {
      return read().message;
    },
  };
}
