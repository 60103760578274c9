import { errorField, logEvent } from "../log.js";
import { chatContext, type ChatContext, type ChatOptions } from "../options.js";
import { handleApi } from "./admin.js";
import { handleConnect, type BeforeConnect } from "./connect.js";
import { HttpError, jsonError, MAX_BODY_BYTES } from "./http.js";

/** Options of the router: the shared ChatOptions, where chat is mounted, and the app's own checks. */
export interface RouteOptions<Env = any> extends ChatOptions {
  /**
   * The path chat is mounted under, e.g. "/chat": clients connect to `/chat/connect` and the admin
   * API (if mounted) is `/chat/api/…`. Default "" (the root).
   */
  prefix?: string;
  /**
   * The app's own authentication of a connect, before edgechat's tokens: return a ConnectGrant
   * (rooms, attributes) to admit the connection with it, a Response to refuse it with that response,
   * or nothing to admit it with no grant (a `?token=` still adds its grant either way).
   */
  onBeforeConnect?: BeforeConnect<Env>;
  /**
   * The app's own check of an admin API call (its staff session, say), instead of the
   * `Authorization: Bearer <ADMIN_TOKEN>` default: return true to allow it, or a Response to refuse.
   */
  authorizeAdmin?: (request: Request, env: Env) => true | Response | Promise<true | Response>;
}

function prefixOf(options: RouteOptions): string {
  const prefix = options.prefix ?? "";
  return prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
}

/**
 * Runs a handler; a thrown HttpError becomes its JSON error, anything else a logged 500. A body the
 * handler did not read (a refusal before it, a call that takes none) is read and dropped first: the
 * runtime closes a kept-alive connection whose last request body went unread, and the client's next
 * request on it would fail.
 */
async function answered(request: Request, run: () => Promise<Response>): Promise<Response> {
  let response: Response;
  try {
    response = await run();
  } catch (error) {
    if (error instanceof HttpError) response = jsonError(error.status, error.code, error.message);
    else {
      logEvent("error", "error", { during: "request", error: errorField(error) });
      response = jsonError(500, "internal_error", "something went wrong");
    }
  }
  await discardBody(request);
  return response;
}

/** Reads and drops what is left of a request body, up to MAX_BODY_BYTES (beyond that it is cancelled). */
async function discardBody(request: Request): Promise<void> {
  if (!request.body || request.bodyUsed) return;
  try {
    const reader = request.body.getReader();
    for (let size = 0; size <= MAX_BODY_BYTES; ) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client went away: nothing to keep alive
  }
}

/**
 * Chat's WebSocket endpoint, for any router: answers `<prefix>/connect` and returns null for every
 * other request, so the app's own routes go on. Errors are JSON `{"error","code"}`.
 *
 * ```ts
 * const response = await routeChatRequest(request, env, { prefix: "/chat", onBeforeConnect });
 * if (response) return response;
 * ```
 */
export async function routeChatRequest<Env extends object>(request: Request, env: Env, options: RouteOptions<Env> = {}): Promise<Response | null> {
  const url = new URL(request.url);
  if (url.pathname !== `${prefixOf(options)}/connect`) return null;
  return answered(request, () => handleConnect(request, env, chatContext(env, options), options.onBeforeConnect));
}

/**
 * The admin HTTP API (broadcast, room status, direct messages, attributes, private rooms, tokens,
 * the room directory) under `<prefix>/api/`, opt-in: mount it only where you want it. Every call
 * needs `Authorization: Bearer <ADMIN_TOKEN>` (settings.adminToken); without one set it answers 503.
 * Returns null for paths outside `<prefix>/api/`.
 */
export async function handleChatAdmin<Env extends object>(request: Request, env: Env, options: RouteOptions<Env> = {}): Promise<Response | null> {
  const base = `${prefixOf(options)}/api`;
  const url = new URL(request.url);
  if (url.pathname !== base && !url.pathname.startsWith(`${base}/`)) return null;
  const path = url.pathname.slice(base.length).split("/").filter((part) => part !== "");
  return answered(request, async () => {
    if (options.authorizeAdmin) {
      const verdict = await options.authorizeAdmin(request, env);
      if (verdict !== true) return verdict;
    }
    return handleApi(request, chatContext(env, options) as ChatContext, path, options.authorizeAdmin === undefined);
  });
}
