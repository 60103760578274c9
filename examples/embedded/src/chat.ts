import { ChatRoom, ProtocolError, refuseConnect, type ChatOptions, type ConnectionInfo, type NumberedBroadcast, type RouteOptions } from "edgechat";
import type { Env } from "./env.js";
import { sessionUser } from "./sessions.js";
export { ChatDirectory } from "edgechat";

const chat: ChatOptions = { bindings: { rooms: "CHAT_ROOMS", directory: "CHAT_DIRECTORY" }, settings: { defaultRoom: "lobby" } };

/** Chat at /chat/connect, for logged-in users only; their name is the `user` attribute. */
export const chatRoutes: RouteOptions = {
  ...chat,
  prefix: "/chat",
  onBeforeConnect: async (request, env) => {
    const user = await sessionUser(request, env);
    // A refusal the client reads and does not retry (a plain 401 would look like a network failure).
    return user ? { attributes: { user } } : refuseConnect("not_authorized", "log in first");
  },
};

/** Text only, no links, one word masked; each message carries its author's name. Every broadcast goes to CHAT_LOG. */
export class ChatRooms extends ChatRoom<Env> {
  static options = chat;
  onSay(connection: ConnectionInfo, message: unknown) {
    if (typeof message !== "string") throw new ProtocolError("rejected", "send text");
    if (/https?:\/\/|www\./i.test(message)) throw new ProtocolError("rejected", "no links, please");
    return { user: connection.attributes.get("user"), text: message.replace(/\bdarn\b/gi, "****") };
  }
  async onBroadcast(broadcast: NumberedBroadcast) {
    await this.env.CHAT_LOG.put(`${broadcast.room}:${broadcast.seq}`, JSON.stringify(broadcast));
  }
}
