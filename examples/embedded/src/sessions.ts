import type { Env } from "./env.js";

/**
 * The app's own sessions, as it had them before chat: a random id in an HttpOnly cookie, the
 * user's name in KV under `session:<id>` for a day. Nothing here knows about chat.
 */
const COOKIE = "sid";
const TTL_SECONDS = 86_400;
const NAME = /^[A-Za-z0-9_-]{1,32}$/;

/** POST /login with `{"name"}`: a new session, set as the cookie. 400 for a missing or odd name. */
export async function login(request: Request, env: Env): Promise<Response> {
  const body = (await request.json().catch(() => null)) as { name?: unknown } | null;
  const name = body?.name;
  if (typeof name !== "string" || !NAME.test(name)) {
    return Response.json({ error: "name: 1-32 letters, digits, _ or -" }, { status: 400 });
  }
  const id = crypto.randomUUID();
  await env.SESSIONS.put(`session:${id}`, name, { expirationTtl: TTL_SECONDS });
  // SameSite=Lax: another site's page cannot open a WebSocket to /chat/connect with this cookie.
  const cookie = `${COOKIE}=${id}; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=${TTL_SECONDS}`;
  return Response.json({ name }, { headers: { "Set-Cookie": cookie } });
}

/** POST /logout: forgets the session. */
export async function logout(request: Request, env: Env): Promise<Response> {
  const id = sessionId(request);
  if (id) await env.SESSIONS.delete(`session:${id}`);
  return new Response(null, { status: 204, headers: { "Set-Cookie": `${COOKIE}=; Path=/; Max-Age=0` } });
}

/** The logged-in user's name, or undefined. */
export async function sessionUser(request: Request, env: Env): Promise<string | undefined> {
  const id = sessionId(request);
  return (id && (await env.SESSIONS.get(`session:${id}`))) || undefined;
}

function sessionId(request: Request): string | undefined {
  for (const part of (request.headers.get("Cookie") ?? "").split(";")) {
    const [key, value] = part.trim().split("=");
    if (key === COOKIE && value) return value;
  }
  return undefined;
}
