import { routeChatRequest } from "edgechat";
import { chatRoutes } from "./chat.js";
import type { Env } from "./env.js";
import { PAGE } from "./page.js";
import { login, logout, sessionUser } from "./sessions.js";

// The Durable Object classes wrangler.toml binds must be exported by the Worker's entry module.
export { ChatDirectory, ChatRooms } from "./chat.js";

/** The app's own routes, with chat mounted under /chat/ (routeChatRequest answers null for the rest). */
export default {
  async fetch(request, env): Promise<Response> {
    const chat = await routeChatRequest(request, env, chatRoutes);
    if (chat) return chat;

    const { pathname } = new URL(request.url);
    const route = `${request.method} ${pathname}`;
    if (route === "GET /") return new Response(PAGE, { headers: { "Content-Type": "text/html; charset=utf-8" } });
    if (route === "POST /login") return login(request, env);
    if (route === "POST /logout") return logout(request, env);
    if (route === "GET /me") {
      const name = await sessionUser(request, env);
      return name ? Response.json({ name }) : Response.json({ error: "not logged in" }, { status: 401 });
    }
    return new Response("not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
