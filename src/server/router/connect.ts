import {
  charLength,
  GATEWAY_CLIENT_IP_HEADER,
  GATEWAY_SECRET_HEADER,
  isPrivateRoom,
  invalidRoom,
  isValidRoomName,
  parseResumeArgs,
  ProtocolError,
  RESERVED_ATTRIBUTE_NAMES,
  type Limits,
  type RefusalCode,
  type ResumeArgs,
} from "../../protocol/index.js";
import type { ConnectGrant } from "../hooks.js";
import { hostName, PLACED_ELSEWHERE_STATUS, PLACED_HOST_HEADER } from "../ids.js";
import { CONNECT_INTENT_HEADER, type ConnectIntent } from "../intent.js";
import type { ChatContext } from "../options.js";
import { constantTimeEqual } from "../secrets.js";
import type { Settings } from "../settings.js";
import { EMPTY_GRANT, verifyToken, type Grant } from "../tokens.js";
import { jsonError } from "./http.js";
import { refusalResponse } from "../refusal.js";

/** The app's own authentication of a connect: a grant, a Response that refuses it, or nothing. */
export type BeforeConnect<Env = any> = (
  request: Request,
  env: Env,
) => ConnectGrant | Response | undefined | void | Promise<ConnectGrant | Response | undefined | void>;

/**
 * GET <prefix>/connect: checks origin, room, the app's `onBeforeConnect`, token, query and gateway
 * identity, then hands the upgrade to the object that will host the socket.
 */
export async function handleConnect<Env extends object>(request: Request, env: Env, context: ChatContext, onBeforeConnect?: BeforeConnect<Env>): Promise<Response> {
  const { settings } = context;
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
  // `token` may be given more than once (a reconnecting client brings every grant it had); empty ones count as absent.
  const tokens = query.getAll("token").filter((token) => token !== "");
  if (!isValidRoomName(room)) return refusalResponse("invalid_room", invalidRoom(room).message, room);
  // The same rules as the same arguments of roomChange: a malformed one is refused, never ignored.
  let resume: ResumeArgs;
  let params: [string, string][];
  try {
    resume = parseResumeArgs((name) => query.get(name));
    params = parseParams(query.get("params"), settings.limits);
  } catch (error) {
    return refusalResponse("bad_request", (error as ProtocolError).message, room);
  }
  let grant: Grant = EMPTY_GRANT;
  let appGrant: Grant | undefined;
  if (onBeforeConnect) {
    // The app's own session (a cookie, say) instead of, or besides, edgechat's tokens.
    const decided = await onBeforeConnect(request, env);
    if (decided instanceof Response) return decided;
    if (decided) appGrant = grantOf(decided);
  }
  if (tokens.length > MAX_CONNECT_TOKENS) return refusalResponse("bad_request", `at most ${MAX_CONNECT_TOKENS} tokens at connect`, room);
  for (const token of tokens) {
    if (!settings.tokenSecret) return jsonError(503, "not_configured", "this server has no TOKEN_SECRET set");
    try {
      // Grants add up in order, as with `auth`: rooms merged, attributes overwritten key by key.
      const granted = await verifyToken(token, settings.tokenSecret);
      grant = { rooms: [...grant.rooms, ...granted.rooms], attributes: { ...grant.attributes, ...granted.attributes } };
    } catch (error) {
      return refusalResponse("invalid_token", error instanceof ProtocolError ? error.message : "token not valid", room);
    }
  }
  // The app's grant is applied last: its session decides attributes such as the user, never a token.
  if (appGrant) grant = { rooms: [...grant.rooms, ...appGrant.rooms], attributes: { ...grant.attributes, ...appGrant.attributes } };
  if (isPrivateRoom(room) && !grant.rooms.includes(room)) {
    return refusalResponse("not_authorized", `${room} is a private room: connect with a token that names it`, room);
  }

  const intent: ConnectIntent = { room, grant, resume, params, ...clientIdentity(request, settings) };
  // The room's own object takes the upgrade, unless it places the socket on another of its host
  // objects: then it says which, and the upgrade goes there (placed, so that host keeps it).
  const upgrade = (name: string, placed: ConnectIntent) =>
    context.rooms.get(context.rooms.idFromName(name)).fetch("https://room.internal/connect", {
      headers: { Upgrade: "websocket", [CONNECT_INTENT_HEADER]: JSON.stringify(placed) },
    });
  const answer = await upgrade(room, intent);
  const index = answer.status === PLACED_ELSEWHERE_STATUS ? Number(answer.headers.get(PLACED_HOST_HEADER)) : NaN;
  if (!Number.isSafeInteger(index) || index < 1) return answer;
  return upgrade(hostName(room, index), { ...intent, placed: true });
}

/** Tokens one connect may carry (each is verified: an HMAC). */
const MAX_CONNECT_TOKENS = 16;


/** An app's grant, held to the same rules as a token's: valid room names, string attributes, no built-in names. */
function grantOf(decided: ConnectGrant): Grant {
  const rooms = (decided.rooms ?? []).filter(isValidRoomName);
  const attributes: Record<string, string> = {};
  for (const [key, value] of Object.entries(decided.attributes ?? {})) {
    if (typeof value === "string" && !RESERVED_ATTRIBUTE_NAMES.has(key)) attributes[key] = value;
  }
  return { rooms, attributes };
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
