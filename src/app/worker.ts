import { ChatDirectory, ChatRoom, handleChatAdmin, routeChatRequest, type SettingsEnv } from "../server/index.js";

/**
 * The standalone edgechat app: chat at the root (`/connect`), the admin API (`/api/*`), `/health`,
 * and the demo page from static assets. It is one consumer of the library like any other; its
 * settings come from the environment names (wrangler.toml [vars], secrets, .dev.vars).
 */
export interface Env extends SettingsEnv {
  ROOMS: DurableObjectNamespace;
  DIRECTORY: DurableObjectNamespace;
  ASSETS?: Fetcher;
}

// The class names deployments already use (wrangler.toml), so a deployed edgechat keeps its rooms' storage.
export class RoomObject extends ChatRoom<Env> {}
export class RoomDirectory extends ChatDirectory<Env> {}

export default {
  async fetch(request, env): Promise<Response> {
    if (new URL(request.url).pathname === "/health") return Response.json({ ok: true });
    const chat = (await routeChatRequest(request, env)) ?? (await handleChatAdmin(request, env));
    if (chat) return chat;
    if (env.ASSETS) return env.ASSETS.fetch(request);
    return Response.json({ error: "nothing here", code: "not_found" }, { status: 404 });
  },
} satisfies ExportedHandler<Env>;
