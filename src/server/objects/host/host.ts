import {
  directMessage,
  errorResponse,
  GATEWAY_CONTROL,
  goodbye,
  GOODBYE_REASONS,
  okResponse,
  parseRequest,
  ProtocolError,
  utf8Length,
  welcome,
  type ParsedRequest,
} from "../../../protocol/index.js";
import type { BroadcastInfo, ChatHooks } from "../../hooks.js";
import type { ConnectIntent } from "../../intent.js";
import { refusalResponse } from "../../refusal.js";
import { broadcastInfo } from "../broadcastInfo.js";
import { newConnectionId, newSession } from "../../ids.js";
import type { Settings } from "../../settings.js";
import { errorField, logEvent } from "../../log.js";
import type { IdempotencyKeys } from "../idempotency.js";
import type { Peers } from "../peers.js";
import type { Delivery, DeliveryReport, HostApi, Outcome } from "../../rpc.js";
import { closeQuietly } from "./closeQuietly.js";
import { Connection, HostedConnections, type ConnectionState } from "./hostedConnections.js";
import { takeToken } from "./rateLimit.js";
import { Receivers } from "./receivers.js";
import { AnswerAfter, connectionInfo, entryOf, refusalOf, RequestHandler } from "./requestHandler.js";

/**
 * The host role: the sockets this object accepted (clients whose first room was this object's, or
 * a default-room host), wherever those connections have moved since. It reads their frames, runs
 * their requests one at a time, delivers broadcasts to them, and cleans up after them.
 */
export class Host implements HostApi {
  readonly hosted: HostedConnections;
  private readonly requests: RequestHandler;
  /** Requests of one connection run in order, one at a time; disconnect waits its turn too. */
  private readonly queues = new Map<string, Promise<void>>();

  /** Which hosted connections receive which rooms (told by the rooms, in order). */
  private readonly receivers = new Receivers();
  /** Whether an alarm is known to be set, so connects do not ask storage every time. */
  private sweepScheduled = false;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly settings: Settings,
    private readonly peers: Peers,
    private readonly idempotency: IdempotencyKeys,
    private readonly hooks: ChatHooks,
    /** The app keeps the built-in shouldDeliver: a broadcast without a filter is for everyone, no hook call needed. */
    private readonly builtInDelivery = false,
  ) {
    this.hosted = new HostedConnections(ctx, ctx.storage.sql);
    for (const connection of this.hosted.all()) this.receivers.restore(connection.state);
    this.requests = new RequestHandler({ settings, hosted: this.hosted, peers, hooks });
    // Sockets are gone but their state is not: the object restarted under them. Clean up soon,
    // from an alarm, because the constructor cannot wait for other rooms.
    if (this.hosted.orphans().length > 0) void ctx.storage.setAlarm(Date.now());
  }

  // ---- connecting -------------------------------------------------------------------------

  /**
   * Accepts a checked /connect: adds the connection to its first room (replaying per `resume`
   * first), then sends the welcome with the room's resume point. Frames the room sends before the
   * welcome is out are held, so the welcome is always the first frame.
   */
  async accept(intent: ConnectIntent): Promise<Response> {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    const id = newConnectionId(this.ctx.id);
    const state: ConnectionState = {
      id,
      room: intent.room,
      listening: [],
      params: intent.params,
      attributes: Object.entries(intent.grant.attributes),
      grantedRooms: intent.grant.rooms,
      connectedAt: Date.now(),
      remoteIP: intent.remoteIP,
      viaGateway: intent.viaGateway,
      // A secret of the client's: a connection id is public (every `from` shows it), and a session
      // decides what a connection does not receive, so nobody may take another's by its id.
      session: intent.resume.session ?? newSession(),
    };
    // The app's own rule for the first room, before anything is stored or announced.
    let refused: string | undefined;
    try {
      refused = await refusalOf(() => this.hooks.authorizeJoin(connectionInfo(state), intent.room, "connect"));
    } catch (error) {
      // Not the client's fault: a failed upgrade it retries, not a refusal it would give up on.
      logEvent("error", "error", { room: intent.room, id, during: "hook authorizeJoin", error: errorField(error) });
      closeQuietly(server, 1011, "try again");
      return Response.json({ error: "the connection could not be authorized: try again", code: "internal_error" }, { status: 503 });
    }
    if (refused !== undefined) {
      closeQuietly(server, 1000, "refused");
      return refusalResponse("not_authorized", refused, intent.room);
    }
    const connection = this.hosted.add(server, state, this.settings.limits.rateLimit);
    connection.hold();
    try {
      const point = await this.peers.room(intent.room).roomJoin(intent.room, entryOf(connection, this.peers.selfHex), intent.resume);
      connection.release(JSON.stringify(welcome(this.settings.welcomeMessage, intent.room, id, connection.session, point)));
    } catch (error) {
      logEvent("error", "error", { room: intent.room, id, during: "connect", error: errorField(error) });
      connection.departed = true;
      this.hosted.remove(id);
      closeQuietly(server, 1011, "try again");
      throw error;
    }
    logEvent("info", "connect", { room: intent.room, id, remoteIP: intent.remoteIP, viaGateway: intent.viaGateway });
    await this.scheduleSweep();
    return new Response(null, { status: 101, webSocket: client });
  }

  // ---- frames from sockets accepted here ----------------------------------------------------

  onMessage(ws: WebSocket, frame: string | ArrayBuffer): void {
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

  onClose(ws: WebSocket, code: number, reason: string): void {
    closeQuietly(ws, code, reason);
    this.dropSocket(ws, `closed (${code}${reason ? ` ${reason}` : ""})`);
  }

  onError(ws: WebSocket): void {
    closeQuietly(ws, 1011, "error");
    this.dropSocket(ws, "socket error");
  }

  private parseFrame(connection: Connection, frame: string | ArrayBuffer): ParsedRequest {
    const { maxMessageBytes } = this.settings.limits;
    if (typeof frame !== "string") {
      const control = connection.state.viaGateway && frame.byteLength === 1 ? new Uint8Array(frame)[0] : undefined;
      if (control === GATEWAY_CONTROL.oversizeLine) return { ok: false, error: tooLarge(maxMessageBytes) };
      if (control === GATEWAY_CONTROL.invalidLine) {
        return { ok: false, error: new ProtocolError("bad_request", "a line must be UTF-8 text") };
      }
      if (control === GATEWAY_CONTROL.malformedTelnet) {
        return { ok: false, error: new ProtocolError("bad_request", "malformed telnet command in the line") };
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
      connection.reply(JSON.stringify(errorResponse(parsed.error.code, parsed.error.message, messageCount, parsed.requestId)));
      return;
    }
    const { request, requestId } = parsed;
    if (request.verb === "quit" || request.verb === "exit") {
      await connection.answered(); // the answers to earlier requests go first
      connection.send(JSON.stringify(goodbye(request.verb)));
      closeQuietly(connection.ws, 1000, request.verb);
      await this.disconnect(connection, request.verb);
      return;
    }
    let reply;
    let after: Promise<void> | undefined;
    try {
      let data = await this.requests.execute(connection, request, messageCount);
      if (data instanceof AnswerAfter) {
        after = data.written;
        data = data.data;
      }
      reply = okResponse(messageCount, data, requestId);
    } catch (error) {
      if (!(error instanceof ProtocolError)) {
        logEvent("error", "error", { room: connection.room, id: connection.id, during: request.verb, error: errorField(error) });
      }
      const failure =
        error instanceof ProtocolError ? error : new ProtocolError("bad_request", "the request could not be completed; try again");
      reply = errorResponse(failure.code, failure.message, messageCount, requestId);
    }
    connection.reply(JSON.stringify(reply), after);
  }

  private enqueue(connection: Connection, job: () => Promise<void>): void {
    const id = connection.id;
    const run = async () => {
      if (!connection.departed) await job();
    };
    const previous = this.queues.get(id);
    const next = (previous ? previous.then(run) : run()).catch((error) =>
      logEvent("error", "error", { room: connection.room, id, during: "request queue", error: errorField(error) }),
    );
    this.queues.set(id, next);
    void next.finally(() => {
      if (this.queues.get(id) === next) this.queues.delete(id);
    });
  }

  private dropSocket(ws: WebSocket, reason: string): void {
    const connection = this.hosted.bySocket(ws);
    if (!connection || connection.departed) return;
    const previous = this.queues.get(connection.id);
    const next = (previous ?? Promise.resolve()).then(() => this.disconnect(connection, reason));
    this.queues.set(connection.id, next);
  }

  /** Takes a connection out of its room and every room it listens to, then forgets it. */
  private async disconnect(connection: Connection, reason: string): Promise<void> {
    if (connection.departed) return;
    connection.departed = true;
    this.receivers.forget(connection.state);
    await this.leaveRooms(connection.state);
    this.hosted.remove(connection.id);
    this.queues.delete(connection.id);
    logEvent("info", "disconnect", { room: connection.room, id: connection.id, reason, durationMs: Date.now() - connection.state.connectedAt });
  }

  /** The rooms keep each member's notice filter, so every path announces a leave the same way. */
  private async leaveRooms(state: ConnectionState): Promise<void> {
    const results = await Promise.allSettled([
      this.peers.room(state.room).roomLeave(state.room, state.id),
      ...state.listening.map((room) => this.peers.room(room).roomSilence(room, state.id)),
    ]);
    for (const result of results) {
      if (result.status === "rejected") {
        logEvent("error", "error", { room: state.room, id: state.id, during: "leaving rooms", error: errorField(result.reason) });
      }
    }
  }

  // ---- housekeeping -----------------------------------------------------------------------

  /**
   * Runs on an alarm every SWEEP_INTERVAL_SECONDS while this object hosts sockets, never on a
   * timer (a timer would keep the object from hibernating; an alarm wakes it and lets it sleep):
   * - connections whose sockets vanished with the object (a deploy or crash restarted it) leave
   *   their rooms, so rooms and the directory learn within one interval, without waiting for a reader;
   * - connections silent past the idle timeout are closed (peers that vanished without a close,
   *   which the runtime can leave looking open). Clients stay alive by sending `ping`.
   */
  async sweep(): Promise<void> {
    for (const id of this.hosted.orphans()) {
      const state = this.hosted.loadOrphanState(id);
      if (state) {
        await this.leaveRooms(state);
        logEvent("info", "disconnect", { room: state.room, id, reason: "lost in a restart", durationMs: Date.now() - state.connectedAt });
      }
      this.hosted.remove(id);
    }
    const now = Date.now();
    for (const connection of [...this.hosted.all()]) {
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(connection.ws)?.getTime() ?? 0;
      if (now - Math.max(connection.counters.lastSeenAt, pinged) < this.settings.idleTimeoutMs) continue;
      connection.send(JSON.stringify(goodbye(GOODBYE_REASONS.idle)));
      closeQuietly(connection.ws, 1001, GOODBYE_REASONS.idle);
      this.enqueue(connection, () => this.disconnect(connection, GOODBYE_REASONS.idle));
    }
    this.sweepScheduled = false; // this alarm has fired
    await this.scheduleSweep();
  }

  private async scheduleSweep(): Promise<void> {
    if (this.hosted.size === 0 || this.sweepScheduled) return;
    if ((await this.ctx.storage.getAlarm()) === null) {
      await this.ctx.storage.setAlarm(Date.now() + Math.min(this.settings.sweepIntervalMs, this.settings.idleTimeoutMs));
    }
    this.sweepScheduled = true;
  }

  // ---- calls from rooms and the server API ------------------------------------------------

  async hostDeliver(deliveries: Delivery[]): Promise<DeliveryReport> {
    const gone = new Set<string>();
    const delivered = deliveries.map((delivery) => this.deliverHere(delivery, gone));
    return { delivered, gone: [...gone] };
  }

  /** Carries out one message of a room's ordered stream; returns how many sockets it was sent to. */
  private deliverHere(delivery: Delivery, gone: Set<string>): number {
    switch (delivery.kind) {
      case "receivers":
        for (const id of delivery.add ?? []) {
          if (this.hosted.get(id)) this.receivers.add(delivery.room, id);
          else gone.add(id);
        }
        for (const id of delivery.remove ?? []) this.receivers.remove(delivery.room, id);
        return 0;
      case "broadcast":
        return this.sendTo(this.receivers.of(delivery.room) ?? [], delivery, gone);
      case "to":
        return this.sendTo(delivery.ids, delivery, gone);
    }
  }

  /** Sends a frame to the listed connections hosted here, applying the sender rules and the filter to each. */
  private sendTo(ids: Iterable<string>, delivery: Exclude<Delivery, { kind: "receivers" }>, gone: Set<string>): number {
    let delivered = 0;
    let info: BroadcastInfo | undefined;
    const everyone = delivery.seq === 0 || (delivery.filter === undefined && this.builtInDelivery);
    for (const id of ids) {
      if (id === delivery.except) continue;
      const connection = this.hosted.get(id);
      if (!connection) gone.add(id);
      else if (
        !connection.departed &&
        connection.session !== delivery.origin &&
        (everyone || this.wants(connection, (info ??= infoOf(delivery)))) &&
        connection.send(delivery.payload)
      ) {
        delivered++;
      }
    }
    return delivered;
  }

  /** The app's shouldDeliver (default: the roomMatchKey/roomMatchValue filter); one that throws delivers nothing. */
  private wants(connection: Connection, broadcast: BroadcastInfo): boolean {
    try {
      return this.hooks.shouldDeliver(connection, broadcast);
    } catch (error) {
      logEvent("error", "error", { room: broadcast.room, id: connection.id, during: "hook shouldDeliver", error: errorField(error) });
      return false;
    }
  }

  async hostGone(ids: string[]): Promise<string[]> {
    return ids.filter((id) => this.hosted.get(id) === undefined);
  }

  async hostSendDirect(id: string, message: unknown, type?: string, idempotencyKey?: string): Promise<boolean> {
    const connection = this.hosted.get(id);
    if (!connection || connection.departed) return false;
    const key = idempotencyKey === undefined ? undefined : `direct:${id}:${idempotencyKey}`;
    if (key !== undefined && this.idempotency.get<boolean>(key) !== undefined) return true;
    const sent = connection.send(JSON.stringify(directMessage(message, type)));
    if (key !== undefined && sent) this.idempotency.put(key, true);
    return sent;
  }

  async hostSetAttributes(id: string, patch: Record<string, string | null>): Promise<Outcome<Record<string, string>> | null> {
    const connection = this.hosted.get(id);
    if (!connection || connection.departed) return null;
    // A connection holds at most 4 × MAX_PARAMS attributes in all (one call sets at most MAX_PARAMS),
    // so no series of calls grows its state and its detailsView without bound.
    const after = new Set(connection.attributes.keys());
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) after.delete(key);
      else after.add(key);
    }
    const max = 4 * this.settings.limits.maxParams;
    if (after.size > max) return { ok: false, code: "too_many_params", message: `a connection holds at most ${max} attributes` };
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) connection.attributes.delete(key);
      else connection.attributes.set(key, value);
    }
    this.hosted.persist(connection);
    return { ok: true, value: Object.fromEntries(connection.attributes) };
  }
}

function tooLarge(maxBytes: number): ProtocolError {
  return new ProtocolError("message_too_large", `a request may be at most ${maxBytes} bytes`);
}

/** A delivery as hooks see it (the frame is parsed only if a hook reads the message). */
function infoOf(delivery: Exclude<Delivery, { kind: "receivers" }>): BroadcastInfo {
  return broadcastInfo(delivery.room, delivery.seq, delivery.payload, delivery.filter);
}
