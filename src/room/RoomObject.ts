import { DurableObject } from "cloudflare:workers";
import { PING, PONG, type HistoryData, type MatchFilter, type ResumeArgs, type ResumePoint, type RoomViewData } from "../protocol/index.js";
import { CONNECT_INTENT_HEADER, type ConnectIntent } from "../worker/connectIntent.js";
import { readSettings, type Env } from "../worker/env.js";
import { Host } from "./hostRole/host.js";
import { IdempotencyKeys } from "./idempotency.js";
import { Peers } from "./peers.js";
import { Room } from "./roomRole/room.js";
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
} from "./rpc.js";
import { migrate } from "./schema.js";

/**
 * One object per room (idFromName). It plays two roles, each in its own module:
 * - the room (roomRole/): members, listeners, seq, history; it numbers each broadcast and fans it
 *   out to the hosts of its recipients;
 * - the host (hostRole/) of the sockets it accepted (clients whose first room this was), wherever
 *   those connections have moved since: it runs their requests and delivers to them.
 * This class only wires the runtime's entry points and the RPC surface to the two roles.
 */
export class RoomObject extends DurableObject<Env> implements RoomApi, HostApi {
  private readonly room: Room;
  private readonly host: Host;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const settings = readSettings(env);
    migrate(ctx.storage.sql);
    const peers = new Peers(env, ctx.id, this);
    const idempotency = new IdempotencyKeys(ctx.storage.sql, settings.idempotencyWindowMs);
    this.room = new Room(ctx.storage.sql, env, settings, peers, idempotency);
    this.host = new Host(ctx, settings, peers, idempotency);
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** The Worker forwards an accepted /connect here, already checked (room, token, gateway, query). */
  async fetch(request: Request): Promise<Response> {
    const intentHeader = request.headers.get(CONNECT_INTENT_HEADER);
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !intentHeader) {
      return new Response("room objects are reached through the Worker's /connect", { status: 400 });
    }
    return this.host.accept(JSON.parse(intentHeader) as ConnectIntent);
  }

  async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    this.host.onMessage(ws, frame);
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.host.onClose(ws, code, reason);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    this.host.onError(ws);
  }

  async alarm(): Promise<void> {
    await this.host.sweep();
  }

  // ---- RPC: the room role -----------------------------------------------------------------

  roomJoin(room: string, entry: RoomEntry, resume?: ResumeArgs): Promise<ResumePoint> {
    return this.room.roomJoin(room, entry, resume);
  }

  roomLeave(room: string, id: string): Promise<void> {
    return this.room.roomLeave(room, id);
  }

  roomListen(room: string, entry: RoomEntry, resume?: ResumeArgs): Promise<ResumePoint> {
    return this.room.roomListen(room, entry, resume);
  }

  roomSilence(room: string, id: string): Promise<void> {
    return this.room.roomSilence(room, id);
  }

  roomUpdateMember(room: string, id: string, update: { filter?: MatchFilter | null; session?: string }): Promise<void> {
    return this.room.roomUpdateMember(room, id, update);
  }

  roomSay(room: string, sender: Sender, message: unknown, filter?: MatchFilter): Promise<{ seq: number }> {
    return this.room.roomSay(room, sender, message, filter);
  }

  roomBroadcast(room: string, message: unknown, filter?: MatchFilter, idempotencyKey?: string): Promise<BroadcastResult> {
    return this.room.roomBroadcast(room, message, filter, idempotencyKey);
  }

  roomView(room: string, cursor?: string): Promise<Outcome<RoomViewData>> {
    return this.room.roomView(room, cursor);
  }

  roomHistory(room: string, recipient: Recipient, limit?: number): Promise<HistoryData> {
    return this.room.roomHistory(room, recipient, limit);
  }

  roomCounts(room: string): Promise<RoomCounts> {
    return this.room.roomCounts(room);
  }

  roomPoint(room: string): Promise<ResumePoint> {
    return this.room.roomPoint(room);
  }

  // ---- RPC: the host role -----------------------------------------------------------------

  hostDeliver(deliveries: Delivery[]): Promise<DeliveryReport> {
    return this.host.hostDeliver(deliveries);
  }

  hostGone(ids: string[]): Promise<string[]> {
    return this.host.hostGone(ids);
  }

  hostSendDirect(id: string, message: unknown, type?: string, idempotencyKey?: string): Promise<boolean> {
    return this.host.hostSendDirect(id, message, type, idempotencyKey);
  }

  hostSetAttributes(id: string, patch: Record<string, string | null>): Promise<Record<string, string> | null> {
    return this.host.hostSetAttributes(id, patch);
  }
}
