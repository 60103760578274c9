/**
 * What the client knows about its connection's state on the server, kept from successful
 * responses, so a reconnect can restore it: room, listened rooms, params, presented tokens, and
 * the last `seq` received per room (where a `since=` resume starts).
 */
export class SessionState {
  id: string | undefined;
  room: string | undefined;
  readonly listening: string[] = [];
  readonly params = new Map<string, string>();
  /** Tokens accepted by `auth`, in order (the connect token is kept separately). */
  readonly tokens: string[] = [];
  readonly lastSeq = new Map<string, number>();

  constructor(
    readonly firstRoom: string | undefined,
    public connectToken: string | undefined,
  ) {}

  /** A fresh connect (after a final close) starts from nothing on the server; so does the mirror. */
  reset(): void {
    this.id = undefined;
    this.room = undefined;
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

  seen(room: string, seq: number): void {
    if (seq > (this.lastSeq.get(room) ?? 0)) this.lastSeq.set(room, seq);
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
