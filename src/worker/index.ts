import { handleApi } from "./api.js";
import { handleConnect } from "./connect.js";
import { readSettings, type Env } from "./env.js";
import { HttpError, json, jsonError } from "./http.js";

export { RoomDirectory } from "../room/RoomDirectory.js";
export { RoomObject } from "../room/RoomObject.js";

/** Routes /connect to the room objects, /api to the server API, and everything else to the demo page. */
export default {
  async fetch(request, env): Promise<Response> {
    const settings = readSettings(env);
    const url = new URL(request.url);
    const path = url.pathname.split("/").filter((part) => part !== "");
    try {
      if (url.pathname === "/connect") return await handleConnect(request, env, settings);
      if (url.pathname === "/health") return json({ ok: true });
      if (path[0] === "api") return await handleApi(request, env, settings, path.slice(1));
      if (env.ASSETS) return await env.ASSETS.fetch(request);
      return jsonError(404, "not_found", "nothing here");
    } catch (error) {
      if (error instanceof HttpError) return jsonError(error.status, error.code, error.message);
      console.error("request failed:", error);
      return jsonError(500, "internal_error", "something went wrong");
    }
  },
} satisfies ExportedHandler<Env>;
