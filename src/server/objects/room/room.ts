import {
  chatMessage,
  cursorOrder,
  encodeCursor,
  gap,
  notACursor,
  noticeText,
  presence,
  type HistoryData,
  type ChatMessage,
  type MatchFilter,
  type NoticeEvent,
  type ResumeArgs,
  type ResumePoint,
  type ProtocolError,
  type RoomViewData,
} from "../../../protocol/index.js";
import type { BroadcastInfo, ChatHooks, MemberInfo, RecipientInfo } from "../../hooks.js";
import { errorField, logEvent } from "../../log.js";
import type { ChatContext } from "../../options.js";
import type { BroadcastResult, Delivery, Outcome, Recipient, RoomApi, RoomCounts, RoomEntry, Sender } from "../../rpc.js";
import type { Settings } from "../../settings.js";
import { directoryOf } from "../ChatDirectory.js";
import type { IdempotencyKeys } from "../idempotency.js";
import type { LocalRoom, Peers } from "../peers.js";
import { RoomHistory } from "./history.js";
import { Membership } from "./membership.js";
import { broadcastInfo } from "../broadcastInfo.js";
import { Outbox } from "./outbox.js";
import { Placement } from "./placement.js";

interface BroadcastFields {
  message: unknown;
  from: string;
  event?: NoticeEvent;
}

/**
 * The room role of an object: its members and listeners, its stream (seq, epoch, history), and
 * fan-out of every broadcast to the hosts of its recipients. It never touches a socket itself;
 * even its own object's sockets are reached through the host role (see Peers).
 */
export class Room implements RoomApi, LocalRoom {
  private readonly membership: Membership;
  private readonly history: RoomHistory;
  private readonly outbox: Outbox;
  private directoryUpdates: Promise<void> = Promise.resolve();
  /** Where new connections of this room are hosted; made on the first connect. */
  private placement: Placement | undefined;
  /** Broadcasts with an idempotency key whose delivery has not settled yet. */
  private readonly keyedInFlight = new Map<string, Promise<BroadcastResult>>();
  /** Hooks and callers waiting for the pending history to be written (see writeHistory). */
  private afterWrite: (() => void)[] = [];
  private writeTimer: ReturnType<typeof setTimeout> | undefined;

  private readonly settings: Settings;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly context: ChatContext,
    private readonly peers: Peers,
    private readonly idempotency: IdempotencyKeys,
    private readonly hooks: ChatHooks,
  ) {
    this.settings = context.settings;
    this.membership = new Membership(ctx.storage.sql);
    this.history = new RoomHistory(ctx.storage.sql, this.settings.historySize);
    this.outbox = new Outbox(
      (host) => peers.host(host),
      (ids) => this.forgetGone(ids),
      () => this.writeHistory(),
    );
  }

  // ---- membership -------------------------------------------------------------------------

  /**
   * Chooses the host object for a new connection of this room (see Placement): its index, and
   * whether that is this very object.
   */
  place(room: string): { index: number; here: boolean } {
    this.placement ??= new Placement(this.context.rooms, room, this.settings);
    const byHost = this.membership.recipientsByHost();
    let total = 0;
    for (const ids of byHost.values()) total += ids.length;
    const index = this.placement.choose((hex) => byHost.get(hex)?.length ?? 0, total);
    return { index, here: this.placement.hexOf(index) === this.peers.selfHex };
  }

  async roomJoin(room: string, entry: RoomEntry, resume?: ResumeArgs): Promise<ResumePoint> {
    this.membership.rememberName(room);
    if (!this.membership.isRecipient(entry.id)) this.placement?.arrived(entry.host);
    const joined = this.changeMembership(entry.id, () => this.membership.addMember(entry, this.history.currentSeq));
    if (resume?.since !== undefined) this.replay(room, entry, resume);
    if (joined) this.notice(room, "join", entry);
    this.writeHistory();
    return this.history.point;
  }

  async roomLeave(room: string, id: string): Promise<ResumePoint> {
    const left = this.changeMembership(id, () => this.membership.removeMember(id));
    if (left) this.notice(room, "leave", left);
    this.writeHistory();
    return this.history.point;
  }

  async roomListen(room: string, entry: RoomEntry, resume?: ResumeArgs): Promise<ResumePoint> {
    this.membership.rememberName(room);
    if (!this.membership.isRecipient(entry.id)) this.placement?.arrived(entry.host);
    this.changeMembership(entry.id, () => this.membership.addListener(entry, this.history.currentSeq));
    if (resume?.since !== undefined) this.replay(room, entry, resume);
    this.writeHistory();
    return this.history.point;
  }

  async roomSilence(_room: string, id: string): Promise<void> {
    this.changeMembership(id, () => this.membership.removeListener(id));
  }

  async roomUpdateMember(_room: string, id: string, update: { filter?: MatchFilter | null; session?: string }): Promise<void> {
    this.membership.update(id, update);
  }

  async roomCounts(room: string): Promise<RoomCounts> {
    return { room, membersCount: this.membership.memberCount(), listenersCount: this.membership.listenerCount() };
  }

  async roomPoint(_room: string): Promise<ResumePoint> {
    this.writeHistory();
    return this.history.point;
  }

  /**
   * Runs a membership change of connection `id`. When it starts or stops receiving the room, its
   * host is told in the same ordered stream as the broadcasts (so it gets exactly those numbered
   * in between); the directory is told when the room became empty or non-empty.
   */
  private changeMembership<T>(id: string, change: () => T): T {
    const wasEmpty = this.membership.isEmpty();
    const before = this.membership.entry(id);
    const result = change();
    const after = this.membership.entry(id);
    const isEmpty = this.membership.isEmpty();
    const room = this.membership.roomName;
    if (room !== undefined && (before === undefined) !== (after === undefined)) {
      const host = (after ?? before)!.host;
      this.outbox.send(host, after ? { kind: "receivers", room, add: [id] } : { kind: "receivers", room, remove: [id] });
    }
    if (wasEmpty !== isEmpty && room !== undefined) {
      // One update in flight at a time, so the directory sees them in the order they happened.
      this.directoryUpdates = this.directoryUpdates
        .then(() => directoryOf(this.context.directory).setActive(room, !isEmpty))
        .catch((error) => logEvent("error", "error", { room, during: "directory update", error: errorField(error) }));
    }
    return result;
  }

  // ---- broadcasting -----------------------------------------------------------------------

  async roomSay(room: string, sender: Sender, message: unknown, filter?: MatchFilter): Promise<{ seq: number }> {
    const { seq, written } = this.sayHere(room, sender, message, filter);
    // The sender learns the seq only once the message is written (in the burst's commit).
    await written;
    return { seq };
  }

  /** A say, numbered now; `written` settles once it is kept. Nothing may show its seq before then (see LocalRoom). */
  sayHere(room: string, sender: Sender, message: unknown, filter?: MatchFilter): { seq: number; written: Promise<void> } {
    const { seq } = this.broadcast(room, { message, from: sender.id }, filter, sender);
    return { seq, written: this.historyWritten() };
  }

  async roomBroadcast(room: string, message: unknown, filter?: MatchFilter, idempotencyKey?: string): Promise<BroadcastResult> {
    this.membership.rememberName(room);
    const key = idempotencyKey === undefined ? undefined : `broadcast:${idempotencyKey}`;
    if (key !== undefined) {
      const earlier = this.keyedInFlight.get(key) ?? this.idempotency.get<BroadcastResult>(key);
      if (earlier !== undefined) return earlier;
    }
    const { seq, delivered } = this.broadcast(room, { message, from: this.settings.serverName }, filter, undefined, true);
    // Written with the history row, in the same storage transaction: a broadcast is never kept
    // without its key, so a retry after a cut request never sends it twice.
    if (key !== undefined) {
      this.writeHistory();
      this.idempotency.put(key, { room, seq, delivered: 0 });
    }
    const result = delivered!.then((count) => {
      const settled = { room, seq, delivered: count };
      if (key !== undefined) {
        this.idempotency.update(key, settled);
        this.keyedInFlight.delete(key);
      }
      return settled;
    });
    if (key !== undefined) this.keyedInFlight.set(key, result);
    return result;
  }

  private notice(room: string, event: NoticeEvent, subject: RoomEntry): void {
    // A big room sends its count now and then instead: a join costs it O(1), not a notice to everyone.
    if (this.membership.memberCount() > this.settings.presenceNoticeLimit) this.presenceChanged(room);
    else this.broadcast(room, { message: noticeText(event), from: subject.id, event }, subject.filter, subject);
    const member: MemberInfo = { room, id: subject.id, session: subject.session };
    this.notify(event === "join" ? "onJoin" : "onLeave", () => (event === "join" ? this.hooks.onJoin(member) : this.hooks.onLeave(member)));
  }

  /** When the last presence count went out (epoch ms), and whether one is due. */
  private presenceSentAt = 0;
  private presenceTimer: ReturnType<typeof setTimeout> | undefined;

  /** Sends the members count at most once a second, when it changed (unnumbered, not kept). */
  private presenceChanged(room: string): void {
    if (this.presenceTimer !== undefined) return;
    const wait = Math.max(0, this.presenceSentAt + 1000 - Date.now());
    this.presenceTimer = setTimeout(() => {
      this.presenceTimer = undefined;
      this.presenceSentAt = Date.now();
      const payload = JSON.stringify(presence(room, this.membership.memberCount()));
      for (const host of this.membership.recipientsByHost().keys()) this.outbox.send(host, { kind: "broadcast", room, seq: 0, payload });
    }, wait);
  }

  // ---- writing the stream ---------------------------------------------------------------------

  /**
   * Broadcasts are numbered at once but written together, at the latest in the next macrotask and
   * always before anything shows their seq: every batch the outbox sends, every response that
   * carries a seq or resume point, every replay or history read, and the onBroadcast hook run
   * after `writeHistory`. Sends made after a write wait for its commit (the output gate), so no
   * client, host or app sees a broadcast that a crash could still take back, and a burst costs one
   * commit instead of one per broadcast.
   */
  private scheduleWrite(): void {
    this.writeTimer ??= setTimeout(() => {
      this.writeTimer = undefined;
      this.writeHistory();
    }, 0);
  }

  /** Writes the pending broadcasts now (in this event's storage transaction), then runs what waited for them. */
  private writeHistory(): void {
    if (!this.history.unwritten) return;
    try {
      this.history.flush();
    } catch (error) {
      // Numbered broadcasts that cannot be kept must never be seen: start over from storage.
      logEvent("error", "error", { room: this.membership.roomName, during: "writing history", error: errorField(error) });
      this.ctx.abort("history could not be written");
      throw error;
    }
    const waiting = this.afterWrite;
    this.afterWrite = [];
    for (const run of waiting) run();
  }

  /** Resolves once every broadcast numbered so far is written. */
  private historyWritten(): Promise<void> {
    if (!this.history.unwritten) return Promise.resolve();
    return new Promise((resolve) => this.afterWrite.push(resolve));
  }

  /** Runs a notification hook without letting it break or hold up the room; its failure is logged. */
  private notify(name: string, run: () => void | Promise<void>): void {
    const log = (error: unknown) => logEvent("error", "error", { room: this.membership.roomName, during: `hook ${name}`, error: errorField(error) });
    try {
      const result = run();
      if (result instanceof Promise) this.ctx.waitUntil(result.catch(log));
    } catch (error) {
      log(error);
    }
  }

  /**
   * Numbers a broadcast, keeps it, and hands it to the outbox for every host of a recipient.
   * With `counted`, `delivered` settles with the sockets it reached once every host has reported.
   */
  private broadcast(
    room: string,
    fields: BroadcastFields,
    filter: MatchFilter | undefined,
    sender?: Sender,
    counted = false,
  ): { seq: number; delivered?: Promise<number> } {
    const seq = this.history.nextSeq();
    const sentAt = Date.now();
    const payload = JSON.stringify(chatMessage({ ...fields, room, sentAt, seq }));
    this.history.append({ seq, payload, filter, except: sender?.id, origin: sender?.session });
    // The app hears of it once it is written, like everyone else (its I/O then waits for the commit).
    const epoch = this.history.epoch;
    this.afterWrite.push(() =>
      this.notify("onBroadcast", () => this.hooks.onBroadcast({ room, seq, epoch, from: fields.from, message: fields.message, event: fields.event, filter, sentAt })),
    );
    this.scheduleWrite();
    const counts: Promise<number>[] = [];
    // One delivery per host, naming nobody: each host knows which of its connections receive the room.
    for (const host of this.membership.recipientsByHost().keys()) {
      const delivery: Delivery = { kind: "broadcast", room, seq, payload, filter };
      if (sender) {
        delivery.except = sender.id;
        delivery.origin = sender.session;
      }
      if (counted) counts.push(this.outbox.sendCounted(host, delivery));
      else this.outbox.send(host, delivery);
    }
    if (!counted) return { seq };
    return { seq, delivered: Promise.all(counts).then((all) => all.reduce((a, b) => a + b, 0)) };
  }

  /**
   * Sends a joiner what it missed since `since`, before any live broadcast; each kept message is
   * filtered as it was live, and nothing its session sent comes back. The replay stops at the seq
   * where the connection started receiving the room: what came after reached it live (so a
   * connection already in the room, such as a line client resuming its default room, gets only
   * what it missed, never a second copy).
   */
  private replay(room: string, entry: RoomEntry, resume: ResumeArgs): void {
    this.writeHistory();
    const until = this.membership.receivingSince(entry.id) ?? this.history.currentSeq;
    const since = resume.since ?? 0;
    const { seq: current, epoch } = this.history.point;
    const oldestKept = this.history.oldestSeq() ?? current + 1;
    const deliveries: Delivery[] = [];
    let after = since;
    if ((resume.epoch !== undefined && resume.epoch !== epoch) || since > current) {
      // Another stream: the room's storage was lost or reset since the client's point.
      deliveries.push({ kind: "to", room, seq: 0, payload: JSON.stringify(gap(room, 0, oldestKept - 1, epoch, "reset")), ids: [entry.id] });
      after = 0;
    } else if (since < oldestKept - 1) {
      deliveries.push({ kind: "to", room, seq: 0, payload: JSON.stringify(gap(room, since, oldestKept - 1, epoch, "expired")), ids: [entry.id] });
    }
    for (const kept of this.history.after(after)) {
      if (kept.seq > until) break;
      const delivery: Delivery = { kind: "to", room, seq: kept.seq, payload: kept.payload, ids: [entry.id], filter: kept.filter };
      if (kept.except !== undefined) delivery.except = kept.except;
      if (kept.origin !== undefined) delivery.origin = kept.origin;
      deliveries.push(delivery);
    }
    for (const delivery of deliveries) this.outbox.send(entry.host, delivery);
  }

  // ---- reading ----------------------------------------------------------------------------

  async roomView(room: string, cursor?: string): Promise<Outcome<RoomViewData>> {
    let after = 0;
    if (cursor !== undefined) {
      try {
        after = cursorOrder(room, cursor);
        // A cursor never points past the last join: this room did not hand it out.
        if (after > this.membership.lastOrder) throw notACursor();
      } catch (error) {
        const failure = error as ProtocolError;
        return { ok: false, code: failure.code, message: failure.message };
      }
    }
    await this.pruneGone();
    // Big rooms are paged so that no response grows with the room.
    const { page, more } = this.membership.membersAfter(after, this.settings.roomViewPageSize);
    const view: RoomViewData = { room, members: page.map((member) => member.id), membersCount: this.membership.memberCount() };
    if (more) view.cursor = encodeCursor(room, page[page.length - 1].order);
    return { ok: true, value: view };
  }

  /** The kept messages `recipient` may see, filtered by the same rule as live delivery (shouldDeliver). */
  async roomHistory(room: string, recipient: Recipient, limit?: number): Promise<HistoryData> {
    this.writeHistory();
    const info = recipientInfo(recipient);
    const visible = this.history.last(this.settings.historySize).filter((entry) => {
      if (entry.except === recipient.id || entry.origin === recipient.session) return false;
      const broadcast = broadcastInfo(room, entry.seq, entry.payload, entry.filter);
      try {
        return this.hooks.shouldDeliver(info, broadcast);
      } catch (error) {
        logEvent("error", "error", { room, id: recipient.id, during: "hook shouldDeliver", error: errorField(error) });
        return false;
      }
    });
    const wanted = visible.slice(-Math.min(limit ?? visible.length, visible.length));
    return { room, messages: wanted.map((entry) => JSON.parse(entry.payload) as ChatMessage) };
  }

  // ---- connections that vanished ----------------------------------------------------------

  /** Asks every host whether the connections listed here still exist, and forgets those that don't. */
  private async pruneGone(): Promise<void> {
    const checks: Promise<string[]>[] = [];
    for (const [host, ids] of this.membership.recipientsByHost()) {
      checks.push(this.peers.host(host).hostGone([...ids]).catch(() => []));
    }
    const gone = (await Promise.all(checks)).flat();
    if (gone.length > 0) this.forgetGone(gone);
  }

  /** Connections that vanished without leaving: members get the leave notice the room owes them, with their filter. */
  private forgetGone(ids: string[]): void {
    const room = this.membership.roomName;
    for (const id of ids) {
      const left = this.changeMembership(id, () => this.membership.forget(id));
      if (left && room !== undefined) this.notice(room, "leave", left);
    }
  }
}

/** A history reader as hooks see recipients. */
function recipientInfo(recipient: Recipient): RecipientInfo {
  return {
    id: recipient.id,
    room: recipient.room,
    session: recipient.session,
    params: new Map(recipient.params),
    attributes: new Map(recipient.attributes),
    grantedRooms: new Set(recipient.grantedRooms),
    listening: recipient.listening,
    remoteIP: recipient.remoteIP,
    connectedAt: recipient.connectedAt,
    viaGateway: recipient.viaGateway,
  };
}

