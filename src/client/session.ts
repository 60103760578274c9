import type { ResumeArgs, ResumePoint } from "../protocol/index.js";

/**
 * What the client knows about its connection's state on the server, kept from successful
 * responses, so a reconnect can restore it: room, listened rooms, params, presented tokens, the
 * server session (so nothing the client sent comes back), and a resume point (seq and epoch) for
 * every room it receives, from the moment it is in it.
 */
export class SessionState {
  id: string | undefined;
  room: string | undefined;
  /** The server session of this client's connections (the first welcome's `session`). */
  session: string | undefined;
  readonly listening: string[] = [];
  readonly params = new Map<string, string>();
  /** Tokens accepted by `auth`, in order (the connect token is kept separately). */
  readonly tokens: string[] = [];
  /** The last seq received (or the point given when the client entered the room) per room. */
  readonly lastSeq = new Map<string, number>();
  /** The epoch each `lastSeq` belongs to. */
  readonly epochs = new Map<string, string>();

  constructor(
    readonly firstRoom: string | undefined,
    public connectToken: string | undefined,
  ) {}

  /** A fresh connect (after a final close) starts from nothing on the server; so does the mirror. */
  reset(): void {
    this.id = undefined;
    this.room = undefined;
    this.session = undefined;
    this.listening.length = 0;
    this.params.clear();
    this.tokens.length = 0;
  }

  listen(room: string): void {
    if (!this.listening.includes(room)) this.listening.push(room);
  }

  silence(room: string): void {
    const index = this.listening.indexOf(room);
    if (index !== -1) this.listening.splice(index, 1);
  }

  addToken(token: string): void {
    if (token !== this.connectToken && !this.tokens.includes(token)) this.tokens.push(token);
  }

  /** A chat message or notice of `room` arrived. */
  seen(room: string, seq: number): void {
    if (seq > (this.lastSeq.get(room) ?? 0)) this.lastSeq.set(room, seq);
  }

  /**
   * The client entered `room` (welcome, or the OK of roomChange / listenToRoom) and the room was at
   * `point` when it did.
   * - Not resuming: everything after `point` reaches it live, so that is its resume point (or
   *   what it already received meanwhile, if more).
   * - Resuming: the replay of what it missed is on its way; the point only moves with messages that
   *   arrive. Another epoch means the room's stream restarted: the `gap` that the room sends first
   *   sets the point in the new stream.
   */
  entered(room: string, point: ResumePoint, resumed: boolean): void {
    if (typeof point.seq !== "number" || typeof point.epoch !== "string") return; // a server without resume points
    const sameStream = this.epochs.get(room) === point.epoch;
    this.epochs.set(room, point.epoch);
    if (resumed) {
      if (!sameStream) this.lastSeq.set(room, 0);
      return;
    }
    this.lastSeq.set(room, sameStream ? Math.max(this.lastSeq.get(room) ?? 0, point.seq) : point.seq);
  }

  /** A `gap` arrived: the stream of `room` continues after `to` in `epoch`. */
  gap(room: string, to: number, epoch: string): void {
    this.epochs.set(room, epoch);
    this.lastSeq.set(room, to);
  }

  /** Where to resume `room` from, if the client has a point in it. */
  resume(room: string): ResumeArgs {
    const since = this.lastSeq.get(room);
    if (since === undefined) return {};
    const epoch = this.epochs.get(room);
    return epoch === undefined ? { since } : { since, epoch };
  }

  snapshot(): { room: string; listening: string[]; params: Record<string, string>; lastSeq: Record<string, number> } {
    return {
      room: this.room ?? "",
      listening: [...this.listening],
      params: Object.fromEntries(this.params),
      lastSeq: Object.fromEntries(this.lastSeq),
    };
  }
}
