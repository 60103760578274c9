/**
 * The edgechat client library (no runtime dependencies).
 *
 * ```ts
 * import { EdgechatClient } from "/client/edgechat.js"; // or from "src/client/index.js"
 * const chat = await EdgechatClient.connect(`wss://${location.host}/connect`, { room: "lobby" });
 * chat.on("message", (m) => console.log(m.room, m.seq, m.from, m.message));
 * chat.on("status", ({ status }) => console.log(status)); // connecting | open | reconnecting | closed
 * await chat.paramAdd("name", "Ada");
 * const { seq } = await chat.say({ text: "hello" });
 * try { await chat.roomChange("private-x"); } catch (e) { console.log((e as EdgechatError).code); } // not_authorized
 * ```
 * In Node 20 pass a WebSocket class: `{ WebSocket: (await import("ws")).default }`.
 */
export { EdgechatClient } from "./client.js";
export { EdgechatError } from "./errors.js";
export { backoffDelay } from "./backoff.js";
export { connectUrl, sameOriginConnectUrl } from "./url.js";
export type * from "./types.js";
export type { ChatMessage, WelcomeMessage, ErrorCode } from "../protocol/index.js";
