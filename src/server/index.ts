/**
 * edgechat's server: chat rooms inside your own Worker.
 *
 * - `ChatRoom` / `ChatDirectory`: the two Durable Object classes; subclass ChatRoom to set
 *   `static options` and override hooks (ChatHooks), export both from your Worker and bind them.
 * - `routeChatRequest(request, env, options)`: the WebSocket endpoint (`<prefix>/connect`); returns
 *   a Response, or null for any other path, so it slots into any router.
 * - `handleChatAdmin(request, env, options)`: the admin HTTP API under `<prefix>/api/`, opt-in.
 * - `chatRooms(env, options)`: the typed server API for your own code (broadcast, status, direct
 *   messages, attributes, tokens) over RPC.
 *
 * See the README ("Embed in your Worker") and docs/protocol.md.
 */
export { ChatRoom } from "./objects/ChatRoom.js";
export { ChatDirectory } from "./objects/ChatDirectory.js";
export { routeChatRequest, handleChatAdmin, type RouteOptions } from "./router/route.js";
export type { BeforeConnect } from "./router/connect.js";
export { refuseConnect } from "./refusal.js";
export { chatRooms, type ChatRooms, type RoomHandle, type ConnectionHandle } from "./api/chatRooms.js";
export { DEFAULT_BINDINGS, type ChatBindings, type ChatOptions } from "./options.js";
export { NUMBER_SETTINGS, type Settings, type SettingsInput, type SettingsEnv } from "./settings.js";
export type {
  BroadcastInfo,
  ChatHooks,
  ConnectGrant,
  ConnectionInfo,
  JoinKind,
  MemberInfo,
  NumberedBroadcast,
  RecipientInfo,
} from "./hooks.js";
export type { BroadcastResult, RoomCounts } from "./rpc.js";
export { ProtocolError, type ErrorCode, type MatchFilter, type RefusalCode } from "../protocol/index.js";
