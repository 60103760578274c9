import {
  charLength,
  GATEWAY_CLIENT_IP_HEADER,
  GATEWAY_SECRET_HEADER,
  isPrivateRoom,
  isValidRoomName,
  parseResumeArgs,
  ProtocolError,
  REFUSAL_CLOSE_CODES,
  refusal,
  ROOM_NAME_RULE,
  type Limits,
  type RefusalCode,
  type ResumeArgs,
} from "../protocol/index.js";
import { CONNECT_INTENT_HEADER, type ConnectIntent } from "./connectIntent.js";
import type { Env, Settings } from "./env.js";
import { jsonError } from "./http.js";
import { logEvent } from "./log.js";
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
  if (!isValidRoomName(room)) return refuse("invalid_room", `invalid room name: ${ROOM_NAME_RULE}`, room);
  // The same rules as the same arguments of roomChange: a malformed one is refused, never ignored.
  let resume: ResumeArgs;
  let params: [string, string][];
  try {
    resume = parseResumeArgs((name) => query.get(name));
    params = parseParams(query.get("params"), settings.limits);
  } catch (error) {
    return refuse("bad_request", (error as ProtocolError).message, room);
  }
  let grant: Grant = EMPTY_GRANT;
  if (token !== "") {
    if (!settings.tokenSecret) return jsonError(503, "not_configured", "this server has no TOKEN_SECRET set");
    try {
      grant = await verifyToken(token, settings.tokenSecret);
    } catch (error) {
      return refuse("invalid_token", error instanceof ProtocolError ? error.message : "token not valid", room);
    }
  }
  if (isPrivateRoom(room) && !grant.rooms.includes(room)) {
    return refuse("not_authorized", `${room} is a private room: connect with a token that names it`, room);
  }

  const intent: ConnectIntent = { room, grant, resume, params, ...clientIdentity(request, settings) };
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
 * `?params=`: a JSON object of string values, the connection's params from the start (as
 * `paramAdd` would set them, with the same limits), so that its first join notice already follows
 * its `roomMatchKey`/`roomMatchValue`. A reconnecting client passes what it had.
 */
function parseParams(raw: string | null, limits: Limits): [string, string][] {
  if (raw === null || raw === "") return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new ProtocolError("bad_request", "params must be a JSON object of strings");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ProtocolError("bad_request", "params must be a JSON object of strings");
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > limits.maxParams) throw new ProtocolError("bad_request", `at most ${limits.maxParams} params`);
  for (const [key, text] of entries) {
    if (typeof text !== "string") throw new ProtocolError("bad_request", "params must be a JSON object of strings");
    if (key === "" || charLength(key) > limits.maxParamKeyLength) {
      throw new ProtocolError("bad_request", `param keys are 1-${limits.maxParamKeyLength} characters`);
    }
    if (charLength(text) > limits.maxParamValueLength) {
      throw new ProtocolError("bad_request", `param values are at most ${limits.maxParamValueLength} characters`);
    }
  }
  return entries as [string, string][];
}

/**
 * A refused connect still completes the upgrade so a browser can read why: one message, then a
 * close with the code for the reason (spec section 10). The server end is answered and forgotten;
 * a peer that goes away before reading it is no error of ours, so its close and error events are
 * handled rather than left to surface as uncaught "Network connection lost".
 */
function refuse(code: RefusalCode, text: string, room: string): Response {
  logEvent("info", "refusal", { code, room: room.slice(0, 80), error: text });
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  server.addEventListener("error", () => {});
  server.addEventListener("close", () => {});
  server.send(JSON.stringify(refusal(code, text)));
  server.close(REFUSAL_CLOSE_CODES[code], code);
  return new Response(null, { status: 101, webSocket: client });
}
