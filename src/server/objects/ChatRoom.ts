import { DurableObject } from "cloudflare:workers";
import {
  matchesFilter,
  PING,
  PONG,
  type HistoryData,
  type MatchFilter,
  type ResumeArgs,
  type ResumePoint,
  type RoomViewData,
} from "../../protocol/index.js";
import type {
  BroadcastInfo,
  ChatHooks,
  ConnectionInfo,
  JoinKind,
  MemberInfo,
  NumberedBroadcast,
  RecipientInfo,
} from "../hooks.js";
import { CONNECT_INTENT_HEADER, type ConnectIntent } from "../intent.js";
import { chatContext, type ChatOptions } from "../options.js";
import type {
  BroadcastResult,
  Delivery,
  DeliveryReport,
  HostApi,
  Outcome,
  Recipient,
  RoomApi,
  RoomCounts,
  RoomEntry,
  Sender,
} from "../rpc.js";
import { Host } from "./host/host.js";
import { IdempotencyKeys } from "./idempotency.js";
import { Peers } from "./peers.js";
import { PLACED_ELSEWHERE_STATUS, PLACED_HOST_HEADER } from "../ids.js";
import { Room } from "./room/room.js";
import { migrate } from "./schema.js";

/**
 * The chat room Durable Object: one object per room (`idFromName(room)`). Bind a subclass of it
 * in wrangler.toml (any binding name: `bindings.rooms`), with SQLite storage
 * (`new_sqlite_classes`). It plays two roles, each in its own module:
 * - the room (room/): members, listeners, seq, epoch, history; it numbers each broadcast and
 *   fans it out to the hosts of its recipients;
 * - the host (host/) of the sockets it accepted (clients whose first room this was), wherever
 *   those connections have moved since: it runs their requests and delivers to them.
 * This class only wires the runtime's entry points, the RPC surface and the hooks to the roles.
 *
 * Customize it by subclassing: set `static options` (the same ChatOptions the router gets) and
 * override any hook of ChatHooks.
 *
 * ```ts
 * export class Rooms extends ChatRoom {
 *   static options = chat; // { bindings: { rooms: "CHAT_ROOMS", directory: "CHAT_DIRECTORY" } }
 *   onSay(connection, message) {
 *     if (String(message).includes("http")) throw new ProtocolError("rejected", "no links, please");
 *     return message;
 *   }
 * }
 * ```
 */
export class ChatRoom<Env = unknown> extends DurableObject<Env> implements RoomApi, HostApi, ChatHooks {
  /** Bindings and settings; a subclass sets its own (the object the router gets, too). */
  static options: ChatOptions = {};

  // `#` fields: a subclass may name its own fields anything without breaking the object.
  readonly #room: Room;
  readonly #host: Host;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const context = chatContext(env as object, (new.target as typeof ChatRoom).options);
    migrate(ctx.storage.sql, context.settings.historySize);
    const peers = new Peers(context.rooms, ctx.id, this);
    const idempotency = new IdempotencyKeys(ctx.storage.sql, context.settings.idempotencyWindowMs);
    this.#room = new Room(ctx, context, peers, idempotency, this);
    peers.serveLocally(this.#room);
    this.#host = new Host(ctx, context.settings, peers, idempotency, this, this.shouldDeliver === ChatRoom.prototype.shouldDeliver);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  // ---- hooks (override in a subclass; see ChatHooks) ----------------------------------------

  authorizeJoin(_connection: ConnectionInfo, _room: string, _kind: JoinKind): boolean | string | Promise<boolean | string> {
    return true;
  }

  onSay(_connection: ConnectionInfo, message: unknown): unknown | Promise<unknown> {
    return message;
  }

  shouldDeliver(recipient: RecipientInfo, broadcast: BroadcastInfo): boolean {
    return matchesFilter(broadcast.filter, recipient);
  }

  onJoin(_member: MemberInfo): void | Promise<void> {}

  onLeave(_member: MemberInfo): void | Promise<void> {}

  onBroadcast(_broadcast: NumberedBroadcast): void | Promise<void> {}

  // ---- the runtime's entry points -----------------------------------------------------------

  /** The router forwards an accepted /connect here, already checked (room, token, gateway, query). */
  async fetch(request: Request): Promise<Response> {
    const intentHeader = request.headers.get(CONNECT_INTENT_HEADER);
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !intentHeader) {
      return new Response("room objects are reached through edgechat's /connect", { status: 400 });
    }
    const intent = JSON.parse(intentHeader) as ConnectIntent;
    if (!intent.placed) {
      // This is the room's object: it decides which of the room's host objects takes the socket.
      const { index, here } = this.#room.place(intent.room);
      // Another host: the router takes the upgrade there itself (no object in between).
      if (!here) return new Response(null, { status: PLACED_ELSEWHERE_STATUS, headers: { [PLACED_HOST_HEADER]: String(index) } });
    }
    return this.#host.accept(intent);
  }

  async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    this.#host.onMessage(ws, frame);
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.#host.onClose(ws, code, reason);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.#host.onError(ws);
  }

  async alarm(): Promise<void> {
    await this.#host.sweep();
  }

  // ---- RPC: the room role -----------------------------------------------------------------

  roomJoin(room: string, entry: RoomEntry, resume?: ResumeArgs): Promise<ResumePoint> {
    return this.#room.roomJoin(room, entry, resume);
  }

  roomLeave(room: string, id: string): Promise<ResumePoint> {
    return this.#room.roomLeave(room, id);
  }

  roomListen(room: string, entry: RoomEntry, resume?: ResumeArgs): Promise<ResumePoint> {
    return this.#room.roomListen(room, entry, resume);
  }

  roomSilence(room: string, id: string): Promise<void> {
    return this.#room.roomSilence(room, id);
  }

  roomUpdateMember(room: string, id: string, update: { filter?: MatchFilter | null; session?: string }): Promise<void> {
    return this.#room.roomUpdateMember(room, id, update);
  }

  roomSay(room: string, sender: Sender, message: unknown, filter?: MatchFilter): Promise<{ seq: number }> {
    return this.#room.roomSay(room, sender, message, filter);
  }

  roomBroadcast(room: string, message: unknown, filter?: MatchFilter, idempotencyKey?: string): Promise<BroadcastResult> {
    return this.#room.roomBroadcast(room, message, filter, idempotencyKey);
  }

  roomView(room: string, cursor?: string): Promise<Outcome<RoomViewData>> {
    return this.#room.roomView(room, cursor);
  }

  roomHistory(room: string, recipient: Recipient, limit?: number): Promise<HistoryData> {
    return this.#room.roomHistory(room, recipient, limit);
  }

  roomCounts(room: string): Promise<RoomCounts> {
    return this.#room.roomCounts(room);
  }

  roomPoint(room: string): Promise<ResumePoint> {
    return this.#room.roomPoint(room);
  }

  // ---- RPC: the host role -----------------------------------------------------------------

  hostDeliver(deliveries: Delivery[]): Promise<DeliveryReport> {
    return this.#host.hostDeliver(deliveries);
  }

  hostGone(ids: string[]): Promise<string[]> {
    return this.#host.hostGone(ids);
  }

  hostSendDirect(id: string, message: unknown, type?: string, idempotencyKey?: string): Promise<boolean> {
    return this.#host.hostSendDirect(id, message, type, idempotencyKey);
  }

  hostSetAttributes(id: string, patch: Record<string, string | null>): Promise<Outcome<Record<string, string>> | null> {
    return this.#host.hostSetAttributes(id, patch);
  }
}
