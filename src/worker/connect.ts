import {
  GATEWAY_CLIENT_IP_HEADER,
  GATEWAY_SECRET_HEADER,
  isPrivateRoom,
  isValidRoomName,
  ProtocolError,
  REFUSAL_CLOSE_CODES,
  refusal,
  type RefusalCode,
} from "../protocol/index.js";
import { CONNECT_INTENT_HEADER, type ConnectIntent } from "./connectIntent.js";
import type { Env, Settings } from "./env.js";
import { jsonError } from "./http.js";
import { constantTimeEqual } from "./secrets.js";
import { EMPTY_GRANT, verifyToken, type Grant } from "./tokens.js";

/** GET /connect: checks room, token, origin and gateway identity, then hands the upgrade to the room. */
export async function handleConnect(request: Request, env: Env, settings: Settings): Promise<Response> {
  if (request.method !== "GET") return jsonError(405, "method_not_allowed", "use GET /connect with a WebSocket upgrade");
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    return jsonError(426, "upgrade_required", "/connect expects a WebSocket upgrade", { Upgrade: "websocket" });
  }
  const origin = request.headers.get("Origin");
  if (origin && settings.allowedOrigins.length > 0 && !settings.allowedOrigins.includes(origin)) {
    return jsonError(403, "forbidden_origin", `origin ${origin} is not allowed to connect`);
  }

  const query = new URL(request.url).searchParams;
  const room = query.get("room") || settings.defaultRoom;
  const token = query.get("token") || "";
  if (!isValidRoomName(room)) {
    return refuse("invalid_room", "invalid room name: use 1-64 characters from A-Z a-z 0-9 _ - . :");
  }
  let grant: Grant = EMPTY_GRANT;
  if (token !== "") {
    if (!settings.tokenSecret) return jsonError(503, "not_configured", "this server has no TOKEN_SECRET set");
    try {
      grant = await verifyToken(token, settings.tokenSecret);
    } catch (error) {
      return refuse("invalid_token", error instanceof ProtocolError ? error.message : "token not valid");
    }
  }
  if (isPrivateRoom(room) && !grant.rooms.includes(room)) {
    return refuse("not_authorized", `${room} is a private room: connect with a token that names it`);
  }

  const intent: ConnectIntent = { room, grant, ...clientIdentity(request, settings) };
  const since = Number(query.get("since") || "NaN");
  if (Number.isSafeInteger(since) && since >= 0) intent.since = since;
  const stub = env.ROOMS.get(hostFor(env, settings, room));
  return stub.fetch("https://room.internal/connect", {
    headers: { Upgrade: "websocket", [CONNECT_INTENT_HEADER]: JSON.stringify(intent) },
  });
}

/**
 * The object that will host the socket. Normally the first room's own object, so the room delivers
 * to its members without RPC. Everyone who starts in the default room (all gateway clients, and
 * browsers that give no room) is spread over DEFAULT_ROOM_HOSTS host objects instead, whose names
 * are not valid room names; the default room then reaches them with one RPC per host.
 */
function hostFor(env: Env, settings: Settings, room: string): DurableObjectId {
  if (room !== settings.defaultRoom || settings.defaultRoomHosts <= 1) return env.ROOMS.idFromName(room);
  const shard = Math.floor(Math.random() * settings.defaultRoomHosts);
  return env.ROOMS.idFromName(`#host/${room}/${shard}`);
}

/**
 * A gateway vouches for its TCP client's address with the shared secret; anyone else is who the
 * edge says. Naming a client address at all marks a gateway connection (control frames allowed).
 */
function clientIdentity(request: Request, settings: Settings): Pick<ConnectIntent, "remoteIP" | "viaGateway"> {
  const secret = request.headers.get(GATEWAY_SECRET_HEADER);
  const trusted = secret !== null && settings.gatewaySecret !== undefined && constantTimeEqual(secret, settings.gatewaySecret);
  const forwarded = request.headers.get(GATEWAY_CLIENT_IP_HEADER);
  const viaGateway = forwarded !== null;
  if (trusted && forwarded) return { remoteIP: forwarded, viaGateway };
  return { remoteIP: request.headers.get("CF-Connecting-IP") ?? "", viaGateway };
}

/**
 * A refused connect still completes the upgrade so a browser can read why: one message, then a
 * close with the code for the reason (spec section 10).
 */
function refuse(code: RefusalCode, text: string): Response {
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  server.send(JSON.stringify(refusal(code, text)));
  server.close(REFUSAL_CLOSE_CODES[code], code);
  return new Response(null, { status: 101, webSocket: client });
}
