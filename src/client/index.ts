/** The edgechat client library. */
export { EdgechatClient } from "./client.js";
export { EdgechatError } from "./errors.js";
export { backoffDelay } from "./backoff.js";
export { connectUrl, sameOriginConnectUrl } from "./url.js";
export type * from "./types.js";
export type { ChatMessage, WelcomeMessage, ErrorCode } from "../protocol/index.js";
