import type { ConnectionInfo } from "../../hooks.js";
import { fullBucket, type Bucket } from "./rateLimit.js";

/** What a connection is, kept by the object hosting its socket (SQLite, mirrored in memory). */
export interface ConnectionState {
  id: string;
  room: string;
  listening: string[];
  params: [string, string][];
  attributes: [string, string][];
  grantedRooms: string[];
  connectedAt: number;
  remoteIP: string;
  /** Arrived through a TCP gateway, which may send control frames. */
  viaGateway: boolean;
  /** What it (and earlier connections of the session) sent never comes back to it. Absent in state saved before sessions: the id. */
  session?: string;
}

/** Per-request counters change on every frame, so they live in the socket attachment, not SQLite. */
export interface SocketAttachment {
  id: string;
  messageCount: number;
  bucket: Bucket;
  /** Epoch ms of the last frame received, for the stale-connection sweep. */
  lastSeenAt: number;
}

/** A live connection: its socket, its counters and its state in the shapes requests need. */
export class Connection implements ConnectionInfo {
  readonly params: Map<string, string>;
  readonly attributes: Map<string, string>;
  readonly grantedRooms: Set<string>;
  /** Set once a disconnect starts: no more requests or deliveries for it. */
  departed = false;
  /** Frames that arrived before the welcome was sent; the welcome is always the first frame. */
  private held: string[] | undefined;
  /** The last answer still waiting to go out (see `reply`). */
  private answering: Promise<void> | undefined;

  constructor(
    readonly ws: WebSocket,
    readonly counters: SocketAttachment,
    readonly state: ConnectionState,
  ) {
    this.params = new Map(state.params);
    this.attributes = new Map(state.attributes);
    this.grantedRooms = new Set(state.grantedRooms);
  }

  get id(): string {
    return this.state.id;
  }

  get room(): string {
    return this.state.room;
  }

  get session(): string {
    return this.state.session ?? this.state.id;
  }

  get listening(): readonly string[] {
    return this.state.listening;
  }

  get remoteIP(): string {
    return this.state.remoteIP;
  }

  get connectedAt(): number {
    return this.state.connectedAt;
  }

  get viaGateway(): boolean {
    return this.state.viaGateway;
  }

  /** Holds every frame sent from now on until `release`. */
  hold(): void {
    this.held ??= [];
  }

  /** Sends `first`, then every frame held meanwhile, in order. */
  release(first: string): void {
    const held = this.held ?? [];
    this.held = undefined;
    this.send(first);
    for (const frame of held) this.send(frame);
  }

  /**
   * Sends an answer to one of this connection's requests, after `after` (a say's, once it is
   * written) and after every answer before it: answers keep request order even when a later
   * request is answered at once.
   */
  reply(frame: string, after?: Promise<void>): void {
    if (after === undefined && this.answering === undefined) {
      this.send(frame);
      return;
    }
    const send = () => void this.send(frame);
    const ready = this.answering === undefined ? after! : after === undefined ? this.answering : this.answering.then(() => after);
    const sent: Promise<void> = ready.then(send, send);
    this.answering = sent;
    void sent.then(() => {
      if (this.answering === sent) this.answering = undefined;
    });
  }

  /** Settles once every answer so far has been sent. */
  answered(): Promise<void> {
    return this.answering ?? Promise.resolve();
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.READY_STATE_OPEN;
  }

  /** Sends without throwing: a socket that is closing or gone simply misses the frame. */
  send(payload: string): boolean {
    if (this.held) {
      this.held.push(payload);
      return true;
    }
    try {
      this.ws.send(payload);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * The host role: every socket this object accepted, whichever room the connection is in now.
 * Rebuilt on wake from ctx.getWebSockets(), the attachments and SQLite.
 */
export class HostedConnections {
  private readonly byId = new Map<string, Connection>();
  /** Saves deserializing the attachment on every frame; filled as sockets are seen. */
  private readonly bySocketCache = new WeakMap<WebSocket, Connection>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly sql: SqlStorage,
  ) {
    const states = new Map<string, ConnectionState>();
    for (const row of sql.exec<{ id: string; state: string }>("SELECT id, state FROM hosted")) {
      states.set(row.id, JSON.parse(row.state) as ConnectionState);
    }
    for (const ws of ctx.getWebSockets()) {
      const counters = ws.deserializeAttachment() as SocketAttachment | null;
      const state = counters && states.get(counters.id);
      if (counters && state) this.byId.set(counters.id, new Connection(ws, counters, state));
    }
  }

  /** Connection ids with saved state but no socket any more (the object restarted under them). */
  orphans(): string[] {
    const orphans: string[] = [];
    for (const row of this.sql.exec<{ id: string }>("SELECT id FROM hosted")) {
      if (!this.byId.has(row.id)) orphans.push(row.id);
    }
    return orphans;
  }

  loadOrphanState(id: string): ConnectionState | undefined {
    const row = this.sql.exec<{ state: string }>("SELECT state FROM hosted WHERE id = ?", id).toArray()[0];
    return row ? (JSON.parse(row.state) as ConnectionState) : undefined;
  }

  add(ws: WebSocket, state: ConnectionState, rateLimit: number): Connection {
    const now = Date.now();
    const counters: SocketAttachment = { id: state.id, messageCount: 0, bucket: fullBucket(rateLimit, now), lastSeenAt: now };
    ws.serializeAttachment(counters);
    const connection = new Connection(ws, counters, state);
    this.byId.set(state.id, connection);
    this.persist(connection);
    return connection;
  }

  get(id: string): Connection | undefined {
    return this.byId.get(id);
  }

  bySocket(ws: WebSocket): Connection | undefined {
    const cached = this.bySocketCache.get(ws);
    if (cached) return this.byId.get(cached.id) === cached ? cached : undefined;
    const counters = ws.deserializeAttachment() as SocketAttachment | null;
    const connection = counters ? this.byId.get(counters.id) : undefined;
    if (connection) this.bySocketCache.set(ws, connection);
    return connection;
  }

  all(): IterableIterator<Connection> {
    return this.byId.values();
  }

  get size(): number {
    return this.byId.size;
  }

  /** Saves the state after a request changed it. */
  persist(connection: Connection): void {
    const { state } = connection;
    state.params = [...connection.params];
    state.attributes = [...connection.attributes];
    state.grantedRooms = [...connection.grantedRooms];
    this.sql.exec("INSERT OR REPLACE INTO hosted (id, state) VALUES (?, ?)", state.id, JSON.stringify(state));
  }

  /** Saves the counters; the attachment is memory kept with the socket, so this is cheap. */
  saveCounters(connection: Connection): void {
    connection.ws.serializeAttachment(connection.counters);
  }

  remove(id: string): void {
    this.byId.delete(id);
    this.sql.exec("DELETE FROM hosted WHERE id = ?", id);
  }
}
