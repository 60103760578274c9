import { DurableObject } from "cloudflare:workers";
import {
  chatMessage,
  directMessage,
  errorResponse,
  GATEWAY_CONTROL,
  gap,
  goodbye,
  GOODBYE_REASONS,
  matchesFilter,
  noticeText,
  okResponse,
  parseRequest,
  PING,
  PONG,
  ProtocolError,
  utf8Length,
  welcome,
  type MatchFilter,
  type NoticeEvent,
  type ParsedRequest,
} from "../protocol/index.js";
import { newConnectionId } from "../worker/connectionIds.js";
import { readSettings, type Env, type Settings } from "../worker/env.js";
import { CONNECT_INTENT_HEADER, type ConnectIntent } from "../worker/connectIntent.js";
import { closeQuietly } from "./closeQuietly.js";
import { Connection, HostedConnections, type ConnectionState } from "./hostedConnections.js";
import { Membership } from "./membership.js";
import { Outbox } from "./outbox.js";
import { takeToken } from "./rateLimit.js";
import { paramsFilter, RequestHandler } from "./requestHandler.js";
import { RoomHistory } from "./history.js";
import { directoryOf } from "./RoomDirectory.js";
import type {
  BroadcastResult,
  Delivery,
  DeliveryReport,
  HistoryPage,
  HostApi,
  Recipient,
  RoomApi,
  RoomCounts,
  RoomEntry,
  RoomView,
} from "./rpc.js";
import { migrate } from "./schema.js";

interface BroadcastFields {
  message: unknown;
  from: string;
  event?: NoticeEvent;
}

/**
 * One object per room (idFromName). It plays two roles:
 * - the room: members, listeners and seq; it assigns each broadcast its number and fans it out;
 * - the host of the sockets it accepted (clients whose first room this was), wherever those
 *   connections have moved since: it runs their requests and delivers to them.
 */
export class RoomObject extends DurableObject<Env> implements RoomApi, HostApi {
  private readonly settings: Settings;
  private readonly selfId: string;
  private readonly membership: Membership;
  private readonly history: RoomHistory;
  private readonly hosted: HostedConnections;
  private readonly outbox: Outbox;
  private readonly requests: RequestHandler;
  /** Requests of one connection run in order, one at a time; disconnect waits its turn too. */
  private readonly queues = new Map<string, Promise<void>>();
  private directoryUpdates: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.settings = readSettings(env);
    this.selfId = ctx.id.toString();
    migrate(ctx.storage.sql);
    this.membership = new Membership(ctx.storage.sql);
    this.history = new RoomHistory(ctx.storage.sql, this.settings.historySize);
    this.hosted = new HostedConnections(ctx, ctx.storage.sql);
    this.outbox = new Outbox(
      (host) => this.host(host),
      (_host, ids) => this.forgetGone(ids),
    );
    this.requests = new RequestHandler({
      settings: this.settings,
      hostId: this.selfId,
      hosted: this.hosted,
      room: (name) => this.room(name),
    });
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
    // Sockets are gone but their state is not: the object restarted under them. Clean up soon,
    // from an alarm, because the constructor cannot wait for other rooms.
    if (this.hosted.orphans().length > 0) void ctx.storage.setAlarm(Date.now());
  }

  // ---- connecting -------------------------------------------------------------------------

  /** The Worker forwards an accepted /connect here, already checked (room, token, gateway). */
  async fetch(request: Request): Promise<Response> {
    const intentHeader = request.headers.get(CONNECT_INTENT_HEADER);
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !intentHeader) {
      return new Response("room objects are reached through the Worker's /connect", { status: 400 });
    }
    const intent = JSON.parse(intentHeader) as ConnectIntent;
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    const state: ConnectionState = {
      id: newConnectionId(this.ctx.id),
      room: intent.room,
      listening: [],
      params: [],
      attributes: Object.entries(intent.grant.attributes),
      grantedRooms: intent.grant.rooms,
      connectedAt: Date.now(),
      remoteIP: intent.remoteIP,
      viaGateway: intent.viaGateway,
    };
    const connection = this.hosted.add(server, state, this.settings.limits.rateLimit);
    connection.send(JSON.stringify(welcome(this.settings.welcomeMessage, intent.room, state.id)));
    // This object may only host the socket (see the Worker's hostFor): the room may be elsewhere.
    await this.room(intent.room).roomJoin(intent.room, { id: state.id, host: this.selfId }, undefined, intent.since);
    await this.scheduleSweep();
    return new Response(null, { status: 101, webSocket: client });
  }

  // ---- the host role: frames from sockets accepted here ----------------------------------

  async webSocketMessage(ws: WebSocket, frame: string | ArrayBuffer): Promise<void> {
    const connection = this.hosted.bySocket(ws);
    if (!connection) {
      closeQuietly(ws, 1011, "unknown connection");
      return;
    }
    const counters = connection.counters;
    const messageCount = ++counters.messageCount;
    counters.lastSeenAt = Date.now();
    const parsed = this.parseFrame(connection, frame);
    const quitting = parsed.ok && (parsed.request.verb === "quit" || parsed.request.verb === "exit");
    const limited = !quitting && !takeToken(counters.bucket, this.settings.limits.rateLimit, Date.now());
    this.hosted.saveCounters(connection);
    const outcome: ParsedRequest = limited
      ? { ok: false, error: new ProtocolError("rate_limited", "too many requests: slow down"), requestId: parsed.requestId }
      : parsed;
    this.enqueue(connection, () => this.answer(connection, outcome, messageCount));
  }

  async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    closeQuietly(ws, code, reason);
    this.dropSocket(ws);
  }

  async webSocketError(ws: WebSocket): Promise<void> {
    closeQuietly(ws, 1011, "error");
    this.dropSocket(ws);
  }

  private parseFrame(connection: Connection, frame: string | ArrayBuffer): ParsedRequest {
    const { maxMessageBytes } = this.settings.limits;
    if (typeof frame !== "string") {
      const control = connection.state.viaGateway && frame.byteLength === 1 ? new Uint8Array(frame)[0] : undefined;
      if (control === GATEWAY_CONTROL.oversizeLine) return { ok: false, error: tooLarge(maxMessageBytes) };
      if (control === GATEWAY_CONTROL.invalidLine) {
        return { ok: false, error: new ProtocolError("bad_request", "a line must be UTF-8 text") };
      }
      return { ok: false, error: new ProtocolError("bad_request", "binary frames are not supported: send text") };
    }
    // Three bytes per UTF-16 unit is the most a string can take, so short frames skip the count.
    if (frame.length * 3 > maxMessageBytes && utf8Length(frame) > maxMessageBytes) {
      return { ok: false, error: tooLarge(maxMessageBytes) };
    }
    return parseRequest(frame);
  }

  private async answer(connection: Connection, parsed: ParsedRequest, messageCount: number): Promise<void> {
    if (!parsed.ok) {
      connection.send(JSON.stringify(errorResponse(parsed.error.code, parsed.error.message, messageCount, parsed.requestId)));
      return;
    }
    const { request, requestId } = parsed;
    if (request.verb === "quit" || request.verb === "exit") {
      connection.send(JSON.stringify(goodbye(request.verb)));
      closeQuietly(connection.ws, 1000, request.verb);
      await this.disconnect(connection);
      return;
    }
    let reply;
    try {
      reply = okResponse(messageCount, await this.requests.execute(connection, request, messageCount), requestId);
    } catch (error) {
      if (!(error instanceof ProtocolError)) console.error(`request ${request.verb} failed:`, error);
      const failure =
        error instanceof ProtocolError ? error : new ProtocolError("bad_request", "the request could not be completed; try again");
      reply = errorResponse(failure.code, failure.message, messageCount, requestId);
    }
    connection.send(JSON.stringify(reply));
  }

  private enqueue(connection: Connection, job: () => Promise<void>): void {
    const id = connection.id;
    const run = async () => {
      if (!connection.departed) await job();
    };
    const previous = this.queues.get(id);
    const next = (previous ? previous.then(run) : run()).catch((error) => console.error("connection queue:", error));
    this.queues.set(id, next);
    void next.finally(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
    });
  }

  private dropSocket(ws: WebSocket): void {
    const connection = this.hosted.bySocket(ws);
    if (!connection || connection.departed) return;
    const previous = this.queues.get(connection.id);
    const next = (previous ?? Promise.resolve()).then(() => this.disconnect(connection));
    this.queues.set(connection.id, next);
  }

  /** Takes a connection out of its room and every room it listens to, then forgets it. */
  private async disconnect(connection: Connection): Promise<void> {
    if (connection.departed) return;
    connection.departed = true;
    await this.leaveRooms(connection.state, paramsFilter(connection));
    this.hosted.remove(connection.id);
    this.queues.delete(connection.id);
  }

  private async leaveRooms(state: ConnectionState, filter: MatchFilter | undefined): Promise<void> {
    const results = await Promise.allSettled([
      this.room(state.room).roomLeave(state.room, state.id, filter),
      ...state.listening.map((room) => this.room(room).roomSilence(room, state.id)),
    ]);
    for (const result of results) if (result.status === "rejected") console.error("leaving rooms:", result.reason);
  }

  /**
   * Housekeeping on an alarm, never a timer (a timer would keep the object from hibernating):
   * forget connections whose sockets vanished with the object (restart), and close connections
   * that have been silent past the idle timeout (peers that vanished without a close, which the
   * runtime can leave looking open). Clients stay alive by sending `ping`, answered by the runtime.
   */
  async alarm(): Promise<void> {
    for (const id of this.hosted.orphans()) {
      const state = this.hosted.loadOrphanState(id);
      if (state) await this.leaveRooms(state, undefined);
      this.hosted.remove(id);
    }
    const now = Date.now();
    for (const connection of [...this.hosted.all()]) {
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(connection.ws)?.getTime() ?? 0;
      if (now - Math.max(connection.counters.lastSeenAt, pinged) < this.settings.idleTimeoutMs) continue;
      connection.send(JSON.stringify(goodbye(GOODBYE_REASONS.idle)));
      closeQuietly(connection.ws, 1001, GOODBYE_REASONS.idle);
      this.enqueue(connection, () => this.disconnect(connection));
    }
    this.sweepScheduled = false; // this alarm has fired
    await this.scheduleSweep();
  }

  /** Whether an alarm is known to be set, so connects do not ask storage every time. */
  private sweepScheduled = false;

  private async scheduleSweep(): Promise<void> {
    if (this.hosted.size === 0 || this.sweepScheduled) return;
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + Math.max(1000, this.settings.idleTimeoutMs / 2));
    }
    this.sweepScheduled = true;
  }

  // ---- the room role ----------------------------------------------------------------------

  async roomJoin(room: string, entry: RoomEntry, filter?: MatchFilter, since?: number): Promise<void> {
    this.membership.rememberName(room);
    const alreadyReceiving = this.membership.isRecipient(entry.id);
    const joined = this.changeMembership(() => this.membership.addMember(entry));
    if (since !== undefined && !alreadyReceiving) this.replay(room, entry, since);
    if (joined) this.notice(room, "join", entry.id, filter);
  }

  async roomLeave(room: string, id: string, filter?: MatchFilter): Promise<void> {
    if (this.changeMembership(() => this.membership.removeMember(id))) this.notice(room, "leave", id, filter);
  }

  async roomListen(room: string, entry: RoomEntry, since?: number): Promise<void> {
    this.membership.rememberName(room);
    const alreadyReceiving = this.membership.isRecipient(entry.id);
    this.changeMembership(() => this.membership.addListener(entry));
    if (since !== undefined && !alreadyReceiving) this.replay(room, entry, since);
  }

  async roomSilence(_room: string, id: string): Promise<void> {
    this.changeMembership(() => this.membership.removeListener(id));
  }

  async roomCounts(room: string): Promise<RoomCounts> {
    return { room, membersCount: this.membership.members().length, listenersCount: this.membership.listenerCount() };
  }

  /** Runs a membership change; tells the directory when the room became empty or non-empty. */
  private changeMembership<T>(change: () => T): T {
    const wasEmpty = this.membership.isEmpty();
    const result = change();
    const isEmpty = this.membership.isEmpty();
    const room = this.membership.roomName;
    if (wasEmpty !== isEmpty && room !== undefined) {
      // One update in flight at a time, so the directory sees them in the order they happened.
      this.directoryUpdates = this.directoryUpdates
        .then(() => directoryOf(this.env).setActive(room, !isEmpty))
        .catch((error) => console.error("directory update failed:", error));
    }
    return result;
  }

  async roomSay(room: string, from: string, message: unknown, filter?: MatchFilter): Promise<{ seq: number }> {
    const { seq } = this.broadcast(room, { message, from }, filter, from);
    return { seq };
  }

  async roomBroadcast(room: string, message: unknown, filter?: MatchFilter): Promise<BroadcastResult> {
    this.membership.rememberName(room);
    const { seq, delivered } = this.broadcast(room, { message, from: this.settings.serverName }, filter);
    return { room, seq, delivered: await delivered };
  }

  async roomView(room: string, cursor?: string): Promise<RoomView> {
    await this.pruneGone();
    const members = this.membership.members();
    const pageSize = this.settings.roomViewPageSize;
    const start = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isSafeInteger(start) || start < 0) throw new ProtocolError("bad_request", "not a cursor from roomView");
    // Big rooms are paged so that no response grows with the room.
    const page = members.slice(start, start + pageSize).map((entry) => entry.id);
    const view: RoomView = { room, members: page, membersCount: members.length };
    if (start + pageSize < members.length) view.cursor = String(start + pageSize);
    return view;
  }

  async roomHistory(room: string, recipient: Recipient, limit?: number): Promise<HistoryPage> {
    const fields = { id: recipient.id, room: recipient.room, attributes: new Map(recipient.attributes) };
    const visible = this.history
      .last(this.settings.historySize)
      .filter((entry) => entry.except !== recipient.id && matchesFilter(entry.filter, fields));
    const wanted = visible.slice(-Math.min(limit ?? visible.length, visible.length));
    return { room, messages: wanted.map((entry) => JSON.parse(entry.payload) as unknown) };
  }

  /**
   * Sends a joiner what it missed since `since`, before any live broadcast; each kept message is
   * filtered as it was live. Only for a connection not already receiving the room (as member or
   * listener): one that is gets everything live, and a replay could repeat what is still queued.
   */
  private replay(room: string, entry: RoomEntry, since: number): void {
    const deliveries: Delivery[] = [];
    const oldestKept = this.history.oldestSeq() ?? this.history.currentSeq + 1;
    if (since < oldestKept - 1) {
      deliveries.push({ payload: JSON.stringify(gap(room, since, oldestKept - 1)), ids: [entry.id] });
    }
    for (const kept of this.history.after(since)) {
      deliveries.push({ payload: kept.payload, ids: [entry.id], filter: kept.filter, except: kept.except });
    }
    for (const delivery of deliveries) {
      if (entry.host === this.selfId) this.deliverHere(delivery, new Set());
      else void this.outbox.send(entry.host, delivery);
    }
  }

  private notice(room: string, event: NoticeEvent, subject: string, filter?: MatchFilter): void {
    this.broadcast(room, { message: noticeText(event), from: subject, event }, filter, subject);
  }

  /**
   * Numbers a broadcast, sends it to this object's own sockets at once and queues it for the
   * other hosts. `delivered` settles when every host has reported.
   */
  private broadcast(
    room: string,
    fields: BroadcastFields,
    filter: MatchFilter | undefined,
    except?: string,
  ): { seq: number; delivered: Promise<number> } {
    const seq = this.history.nextSeq();
    const payload = JSON.stringify(chatMessage({ ...fields, room, sentAt: Date.now(), seq }));
    this.history.append({ seq, payload, filter, except });
    const counts: Promise<number>[] = [];
    for (const [host, ids] of this.membership.recipientsByHost()) {
      const delivery: Delivery = { payload, ids: ids as string[], filter, except };
      counts.push(host === this.selfId ? this.deliverSoon(delivery) : this.outbox.send(host, delivery));
    }
    const delivered = Promise.all(counts).then((all) => all.reduce((a, b) => a + b, 0));
    return { seq, delivered };
  }

  /**
   * This object's own recipients get a broadcast from the next macrotask, not inline. Every send
   * waits for the storage writes before it (the output gate), and each broadcast is a commit; sent
   * inline, a burst goes out one commit at a time, while queued sends of a burst go out together
   * (measured: +30–50% fan-out throughput). Order is kept: one FIFO queue, recipients fixed when
   * the broadcast was numbered.
   */
  private localQueue: { delivery: Delivery; settle: (count: number) => void }[] = [];

  private deliverSoon(delivery: Delivery): Promise<number> {
    return new Promise((settle) => {
      if (this.localQueue.length === 0) setTimeout(() => this.flushLocal(), 0);
      this.localQueue.push({ delivery, settle });
    });
  }

  private flushLocal(): void {
    const queue = this.localQueue;
    this.localQueue = [];
    const gone = new Set<string>();
    for (const { delivery, settle } of queue) settle(this.deliverHere(delivery, gone));
    if (gone.size > 0) this.forgetGone([...gone]);
  }

  /** Sends one broadcast to the sockets hosted here, applying the filter to each recipient. */
  private deliverHere(delivery: Delivery, gone: Set<string>): number {
    let delivered = 0;
    for (const id of delivery.ids) {
      if (id === delivery.except) continue;
      const connection = this.hosted.get(id);
      if (!connection) gone.add(id);
      else if (!connection.departed && matchesFilter(delivery.filter, connection) && connection.send(delivery.payload)) delivered++;
    }
    return delivered;
  }

  /** Asks every host whether the connections listed here still exist, and forgets those that don't. */
  private async pruneGone(): Promise<void> {
    const checks: Promise<string[]>[] = [];
    for (const [host, ids] of this.membership.recipientsByHost()) {
      checks.push(this.host(host).hostGone([...ids]).catch(() => []));
    }
    const gone = (await Promise.all(checks)).flat();
    if (gone.length > 0) this.forgetGone(gone);
  }

  /** Connections that vanished without leaving: members get the leave notice the room owes them. */
  private forgetGone(ids: string[]): void {
    const room = this.membership.roomName;
    for (const id of ids) {
      if (this.changeMembership(() => this.membership.forget(id)) && room !== undefined) this.notice(room, "leave", id);
    }
  }

  // ---- the host role: calls from rooms and the server API -------------------------------

  async hostDeliver(deliveries: Delivery[]): Promise<DeliveryReport> {
    const gone = new Set<string>();
    const delivered = deliveries.map((delivery) => this.deliverHere(delivery, gone));
    return { delivered, gone: [...gone] };
  }

  async hostGone(ids: string[]): Promise<string[]> {
    return ids.filter((id) => this.hosted.get(id) === undefined);
  }

  async hostSendDirect(id: string, message: unknown, type?: string): Promise<boolean> {
    const connection = this.hosted.get(id);
    if (!connection || connection.departed) return false;
    return connection.send(JSON.stringify(directMessage(message, type)));
  }

  async hostSetAttributes(id: string, patch: Record<string, string | null>): Promise<Record<string, string> | null> {
    const connection = this.hosted.get(id);
    if (!connection || connection.departed) return null;
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) connection.attributes.delete(key);
      else connection.attributes.set(key, value);
    }
    this.hosted.persist(connection);
    return Object.fromEntries(connection.attributes);
  }

  // ---- reaching other objects -------------------------------------------------------------

  /**
   * Ids of the rooms this object talks to: hashing a name costs more than a lookup. Stubs are not
   * kept, since a stub can stay broken after an error; a fresh one is cheap.
   */
  private readonly roomIds = new Map<string, DurableObjectId>();

  private room(name: string): RoomApi {
    let id = this.roomIds.get(name);
    if (!id) {
      id = this.env.ROOMS.idFromName(name);
      if (this.roomIds.size >= 1024) this.roomIds.clear();
      this.roomIds.set(name, id);
    }
    return id.equals(this.ctx.id) ? this : (this.env.ROOMS.get(id) as unknown as RoomApi);
  }

  private host(hexId: string): HostApi {
    return hexId === this.selfId ? this : (this.env.ROOMS.get(this.env.ROOMS.idFromString(hexId)) as unknown as HostApi);
  }
}

function tooLarge(maxBytes: number): ProtocolError {
  return new ProtocolError("message_too_large", `a request may be at most ${maxBytes} bytes`);
}
