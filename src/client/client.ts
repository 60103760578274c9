import {
  decodeServerFrame,
  isPrivateRoom,
  PING,
  type ChatMessage,
  type ClientRequest,
  type OkResponse,
  type RoomJoinedData,
  type Verb,
  type VerbArgs,
  type VerbData,
  type WelcomeMessage,
} from "../protocol/index.js";
import { backoffDelay } from "./backoff.js";
import { Emitter } from "./emitter.js";
import { EdgechatError } from "./errors.js";
import { PendingRequests } from "./pending.js";
import { SessionState } from "./session.js";
import type {
  AuthData,
  ClientEvents,
  ClientOptions,
  ConnectionStatus,
  DetailsData,
  HistoryData,
  ReconnectOptions,
  ResumeOptions,
  RoomData,
  RoomViewData,
  SayData,
  SayOptions,
  WebSocketConstructorLike,
  WebSocketLike,
} from "./types.js";
import { readClaims, stillValid } from "./tokens.js";
import { connectUrl, queryOf } from "./url.js";

const OPEN = 1;
/** Close codes of a refused connect (spec section 10): retrying the same thing cannot help. */
const REFUSAL_CODES = new Set([4400, 4401, 4403]);
/** Reconnect restores at most this many requests at once, then paces under the server's rate limit. */
const RESTORE_BURST = 30;
const RESTORE_SPACING_MS = 60;
/** Tokens a reconnect URL carries at most (the server accepts 16 per connect). */
const MAX_URL_TOKENS = 16;
/** Params go in the reconnect URL up to this many characters (URLs have limits); the rest are restored after. */
const MAX_URL_PARAMS_CHARS = 4096;

/** A verb the app may send as a request (quit and exit end the connection instead). */
type RequestVerb = Exclude<Verb, "quit" | "exit">;

/** One socket and where it is in its life. */
interface Link {
  ws: WebSocketLike;
  welcomed: boolean;
  /** The URL asked to resume the first room (`since`). */
  resumed: boolean;
  welcome: { resolve(w: WelcomeMessage): void; reject(e: EdgechatError): void };
  refusal?: EdgechatError;
  goodbye?: string;
  /** Requests sent on this socket and not answered yet. */
  inFlight: Set<string>;
  /** Nothing arrived since the last keep-alive ping. */
  awaitingPong: boolean;
}

/**
 * An edgechat connection for browsers and any WHATWG-style WebSocket. Every request is sent in
 * JSON form with a `requestId` and resolves with the response's `data` or rejects with an
 * `EdgechatError` carrying the protocol `code`. After an unexpected close it reconnects with
 * jittered exponential backoff and restores room, listened rooms, params and tokens.
 */
export class EdgechatClient extends Emitter<ClientEvents> {
  private readonly WebSocketImpl: WebSocketConstructorLike;
  private readonly session: SessionState;
  /** `since` for the first connect only; reconnects resume from what was received. */
  private readonly firstSince: number | undefined;
  private readonly pending: PendingRequests;
  private readonly pingIntervalMs: number;
  private readonly reconnectOptions: ReconnectOptions | false;
  private readonly random: () => number;

  private currentStatus: ConnectionStatus = "idle";
  private link: Link | undefined;
  /** Requests made while not open, sent once the connection is (back) up. */
  private queue: { requestId: string; frame: string }[] = [];
  private stopped = false;
  private attempts = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private idBeforeDrop: string | undefined;
  /** Reconnects carry the tokens in their URL, until the server refuses one there. */
  private tokensInUrl = true;

  constructor(
    readonly url: string,
    options: ClientOptions = {},
  ) {
    super();
    const impl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructorLike }).WebSocket;
    if (!impl) throw new TypeError("no WebSocket implementation: pass options.WebSocket (for example the ws package)");
    this.WebSocketImpl = impl;
    // A room or token in the URL itself counts like the options (which win when both are given).
    const inUrl = queryOf(url);
    this.session = new SessionState(options.room || inUrl.room, options.token || inUrl.token);
    this.firstSince = options.since;
    this.pending = new PendingRequests(options.requestTimeoutMs ?? 15_000);
    this.pingIntervalMs = options.pingIntervalMs ?? 25_000;
    this.reconnectOptions = options.reconnect ?? {};
    this.random = options.random ?? Math.random;
  }

  /** Creates a client and connects it; resolves once the server's welcome arrived. */
  static async connect(url: string, options: ClientOptions = {}): Promise<EdgechatClient> {
    const client = new EdgechatClient(url, options);
    await client.connect();
    return client;
  }

  // ---- state ------------------------------------------------------------------------------

  get status(): ConnectionStatus {
    return this.currentStatus;
  }

  /** This connection's id (a new one after each reconnect). */
  get id(): string | undefined {
    return this.session.id;
  }

  get room(): string | undefined {
    return this.session.room;
  }

  get listening(): readonly string[] {
    return [...this.session.listening];
  }

  get params(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.session.params);
  }

  /**
   * Where this client stands in a room's stream: the last `seq` received (or the room's seq when
   * the client entered it), 0 when none.
   */
  lastSeq(room: string): number {
    return this.session.lastSeq.get(room) ?? 0;
  }

  /** The epoch (stream identity) that `lastSeq(room)` belongs to, once known. */
  epoch(room: string): string | undefined {
    return this.session.epochs.get(room);
  }

  /** The socket in use, if any (for tests and diagnostics). */
  get socket(): WebSocketLike | undefined {
    return this.link?.ws;
  }

  // ---- requests ---------------------------------------------------------------------------

  say(message: unknown, options: SayOptions = {}): Promise<SayData> {
    return this.request("say", { message, ...options });
  }

  /** `since` (and `epoch`): also replay the room's kept messages after that seq, before anything live. */
  roomChange(room: string, options: ResumeOptions = {}): Promise<RoomJoinedData> {
    return this.request("roomChange", { room, ...options });
  }

  listenToRoom(room: string, options: ResumeOptions = {}): Promise<RoomJoinedData> {
    return this.request("listenToRoom", { room, ...options });
  }

  silenceRoom(room: string): Promise<RoomData> {
    return this.request("silenceRoom", { room });
  }

  /** The room's last kept messages (at most `limit`) that this connection could have received. */
  history(limit?: number): Promise<HistoryData> {
    return this.request("history", limit === undefined ? {} : { limit });
  }

  /**
   * One page of members of the current room, or of `room` (which you must be in or listen to).
   * A room bigger than one page answers a `cursor`: pass it back for the next page.
   */
  roomView(room?: string, cursor?: string): Promise<RoomViewData> {
    if (cursor !== undefined && room === undefined) return Promise.reject(new EdgechatError("bad_request", "a cursor needs its room"));
    return this.request("roomView", room === undefined ? {} : cursor === undefined ? { room } : { room, cursor });
  }

  detailsView(): Promise<DetailsData> {
    return this.request("detailsView", {});
  }

  paramAdd(key: string, value: string): Promise<null> {
    return this.request("paramAdd", { key, value });
  }

  paramDelete(key: string): Promise<null> {
    return this.request("paramDelete", { key });
  }

  paramView(key: string): Promise<string | null> {
    return this.request("paramView", { key });
  }

  paramsView(): Promise<Record<string, string>> {
    return this.request("paramsView", {});
  }

  paramsDelete(): Promise<null> {
    return this.request("paramsDelete", {});
  }

  /** Presents a token; resolves with everything granted so far. Accepted tokens are re-presented after a reconnect. */
  auth(token: string): Promise<AuthData> {
    return this.request("auth", { token });
  }

  /**
   * Sends any verb in JSON form and resolves with the response's `data`, typed by the protocol's
   * verb table. While connecting or reconnecting the request waits and is sent once the
   * connection is back.
   */
  async request<V extends RequestVerb>(verb: V, args: VerbArgs<V>): Promise<VerbData<V>> {
    const request = { verb, ...args } as ClientRequest;
    const receiving = this.receives(request);
    const response = await this.send(request, false);
    const data = response.data as VerbData<V>;
    this.remember(request, data, receiving);
    return data;
  }

  // ---- lifetime ---------------------------------------------------------------------------

  /** Opens the connection; resolves with the welcome, rejects with the refusal (or `connect_failed`). */
  async connect(): Promise<WelcomeMessage> {
    if (this.currentStatus !== "idle" && this.currentStatus !== "closed") {
      throw new Error(`connect() while ${this.currentStatus}`);
    }
    if (this.currentStatus === "closed") this.session.reset();
    this.stopped = false;
    this.setStatus("connecting");
    const url = connectUrl(this.url, {
      room: this.session.firstRoom,
      token: this.session.connectToken,
      since: this.firstSince,
    });
    try {
      const welcome = await this.open(url, this.firstSince !== undefined);
      this.becomeOpen();
      this.watchOnline(true);
      return welcome;
    } catch (error) {
      const failure = error as EdgechatError;
      this.finish({ code: 1006, reason: failure.message, error: failure });
      throw failure;
    }
  }

  /** Closes the connection for good: no reconnect; waiting requests reject with `closed`. */
  close(code = 1000, reason = "client closed"): void {
    if (this.currentStatus === "closed" || this.currentStatus === "idle") return;
    const link = this.link;
    this.detach();
    if (link) {
      link.welcome.reject(new EdgechatError("closed", "the client was closed"));
      try {
        link.ws.close(code, reason);
      } catch {
        // already closing
      }
    }
    this.finish({ code, reason });
  }

  /** Says goodbye (`quit`): the server answers with a goodbye and closes; resolves then. */
  quit(): Promise<void> {
    const link = this.link;
    if (!link || this.currentStatus !== "open") {
      this.close();
      return Promise.resolve();
    }
    this.stopped = true;
    return new Promise((resolve) => {
      this.once("close", () => resolve());
      link.ws.send(JSON.stringify({ event: "quit" }));
    });
  }

  // ---- the socket -------------------------------------------------------------------------

  /** Opens a socket and resolves with its welcome; the link stays current until it closes. */
  private open(url: string, resumed: boolean): Promise<WelcomeMessage> {
    return new Promise<WelcomeMessage>((resolve, reject) => {
      let ws: WebSocketLike;
      try {
        ws = new this.WebSocketImpl(url);
      } catch (error) {
        reject(new EdgechatError("connect_failed", `cannot open ${url}: ${String(error)}`));
        return;
      }
      const link: Link = { ws, welcomed: false, resumed, welcome: { resolve, reject }, inFlight: new Set(), awaitingPong: false };
      this.link = link;
      ws.onmessage = (event: { data: unknown }) => {
        if (this.link === link && typeof event.data === "string") this.receive(link, event.data);
      };
      ws.onclose = (event: { code?: number; reason?: string }) => {
        if (this.link === link) this.lost(link, event.code ?? 1006, event.reason ?? "");
      };
      ws.onerror = () => {
        // a close event follows with the details
      };
    });
  }

  private receive(link: Link, text: string): void {
    link.awaitingPong = false;
    const frame = decodeServerFrame(text);
    switch (frame.kind) {
      case "welcome": {
        const welcome = frame.message;
        link.welcomed = true;
        this.session.id = welcome.id;
        this.session.room = welcome.room;
        this.session.session ??= welcome.session;
        this.session.entered(welcome.room, welcome, link.resumed);
        this.emit("welcome", welcome);
        link.welcome.resolve(welcome);
        return;
      }
      case "response": {
        // Responses come in request order. One without a requestId (a frame the server could not
        // parse, such as an oversize one) answers the oldest request still waiting on this socket.
        const response = frame.message;
        let requestId = typeof response.requestId === "string" ? response.requestId : undefined;
        if (requestId === undefined) requestId = link.inFlight.values().next().value;
        if (requestId === undefined) return;
        link.inFlight.delete(requestId);
        this.pending.settle({ ...response, requestId });
        return;
      }
      case "chat":
        this.onChat(frame.message);
        return;
      case "goodbye":
        link.goodbye = frame.message.reason;
        return;
      case "refusal":
        link.refusal = new EdgechatError(frame.message.code, frame.message.error);
        return;
      case "direct":
        // Never a protocol frame and never a resume point, whatever it holds.
        this.emit("direct", frame.message);
        return;
      case "presence":
        this.emit("presence", frame.message);
        return;
      case "gap":
        this.session.gap(frame.message.room, frame.message.to, frame.message.epoch);
        this.emit("gap", frame.message);
        return;
      default:
        return; // pong, or something this client version does not know
    }
  }

  private onChat(message: ChatMessage): void {
    this.session.seen(message.room, message.seq);
    if (message.event === "join") this.emit("join", message);
    else if (message.event === "leave") this.emit("leave", message);
    else this.emit("message", message);
  }

  /** The current socket closed (or was given up on). */
  private lost(link: Link, code: number, reason: string): void {
    this.detach();
    if (!link.welcomed) {
      link.welcome.reject(
        link.refusal ?? new EdgechatError("connect_failed", `the connection closed before the welcome (${code}${reason ? ` ${reason}` : ""})`),
      );
      return; // connect() or the reconnect loop decides what happens next
    }
    this.pending.failAll("disconnected", "the connection was lost before the response arrived", link.inFlight);
    const wanted = this.stopped || link.goodbye === "quit" || link.goodbye === "exit";
    if (wanted || this.reconnectOptions === false || REFUSAL_CODES.has(code)) {
      this.finish({ code, reason, goodbye: link.goodbye });
      return;
    }
    const wasOpen = this.currentStatus === "open";
    if (wasOpen) this.idBeforeDrop = this.session.id;
    this.setStatus("reconnecting");
    if (wasOpen) this.emit("close", { code, reason, willReconnect: true, ...(link.goodbye ? { goodbye: link.goodbye } : {}) });
    this.scheduleReconnect();
  }

  /** Stops using the current socket: no more events from it, no keep-alive. */
  private detach(): void {
    const link = this.link;
    this.link = undefined;
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    if (link) {
      link.ws.onmessage = null;
      link.ws.onclose = null;
      link.ws.onerror = null;
      link.ws.onopen = null;
    }
  }

  /** Closed for good: tell the app, reject whatever still waits. */
  private finish(info: { code: number; reason: string; goodbye?: string; error?: Error }): void {
    this.stopped = true;
    this.watchOnline(false);
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.detach();
    const queued = this.queue.map((entry) => entry.requestId);
    this.queue = [];
    this.pending.failAll("closed", "the connection is closed", queued);
    this.pending.failAll("disconnected", "the connection was lost before the response arrived");
    if (this.currentStatus === "closed") return;
    this.setStatus("closed");
    const payload: ClientEvents["close"] = { code: info.code, reason: info.reason, willReconnect: false };
    if (info.goodbye !== undefined) payload.goodbye = info.goodbye;
    if (info.error !== undefined) payload.error = info.error;
    this.emit("close", payload);
  }

  private becomeOpen(): void {
    this.setStatus("open");
    this.attempts = 0;
    this.startKeepAlive();
    const queue = this.queue;
    this.queue = [];
    for (const entry of queue) this.transmit(entry.requestId, entry.frame);
  }

  private startKeepAlive(): void {
    if (this.pingIntervalMs <= 0) return;
    const link = this.link;
    this.pingTimer = setInterval(() => {
      if (!link || this.link !== link || link.ws.readyState !== OPEN) return;
      if (link.awaitingPong) {
        // Nothing came back since the last ping: the peer is gone without a close. Give up on it.
        try {
          link.ws.close(4000, "keep-alive timeout");
        } catch {
          // ignore
        }
        this.lost(link, 4000, "keep-alive timeout");
        return;
      }
      link.awaitingPong = true;
      link.ws.send(PING);
    }, this.pingIntervalMs);
  }

  private setStatus(status: ConnectionStatus): void {
    const previous = this.currentStatus;
    if (previous === status) return;
    this.currentStatus = status;
    this.emit("status", { status, previous });
  }

  // ---- sending ----------------------------------------------------------------------------

  private send(request: ClientRequest, restoring: boolean): Promise<OkResponse> {
    if (this.currentStatus === "idle" || this.currentStatus === "closed") {
      return Promise.reject(new EdgechatError("closed", "not connected: call connect() first"));
    }
    const requestId = this.pending.nextId();
    const { verb, ...args } = request;
    const frame = JSON.stringify({ ...args, event: verb, requestId });
    const response = this.pending.add(requestId);
    if (restoring || this.currentStatus === "open") this.transmit(requestId, frame);
    else this.queue.push({ requestId, frame });
    return response;
  }

  private transmit(requestId: string, frame: string): void {
    if (!this.pending.has(requestId)) return; // timed out while it waited to be sent
    const link = this.link;
    if (!link || link.ws.readyState !== OPEN) {
      this.pending.failAll("disconnected", "the connection was lost before the request was sent", [requestId]);
      return;
    }
    link.inFlight.add(requestId);
    link.ws.send(frame);
  }

  /** Whether a join request is for a room this client already receives (then it has a point there). */
  private receives(request: ClientRequest): boolean {
    if (request.verb !== "roomChange" && request.verb !== "listenToRoom") return false;
    return request.room === this.session.room || this.session.listening.includes(request.room);
  }

  /** Keeps the session mirror in step with what the server accepted. */
  private remember(request: ClientRequest, data: unknown, wasReceiving: boolean): void {
    const session = this.session;
    switch (request.verb) {
      case "roomChange":
      case "listenToRoom": {
        const joined = data as RoomJoinedData;
        if (request.verb === "roomChange") session.room = joined.room;
        else session.listen(joined.room);
        if (!wasReceiving) session.entered(joined.room, joined, request.since !== undefined);
        if (request.session !== undefined) session.session = request.session;
        break;
      }
      case "silenceRoom":
        session.silence(request.room);
        break;
      case "paramAdd":
        session.params.set(request.key, request.value);
        break;
      case "paramDelete":
        session.params.delete(request.key);
        break;
      case "paramsDelete":
        session.params.clear();
        break;
      case "auth":
        session.addToken(request.token);
        break;
      default:
        break;
    }
  }

  // ---- reconnecting -----------------------------------------------------------------------

  /** In a browser, coming back online retries at once instead of waiting out the backoff. */
  private readonly onOnline = (): void => {
    if (this.currentStatus !== "reconnecting" || this.reconnectTimer === undefined) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    void this.reconnect();
  };

  private watchOnline(on: boolean): void {
    const target = globalThis as { addEventListener?: typeof addEventListener; removeEventListener?: typeof removeEventListener };
    if (typeof target.addEventListener !== "function" || typeof target.removeEventListener !== "function") return;
    if (on) target.addEventListener("online", this.onOnline);
    else target.removeEventListener("online", this.onOnline);
  }

  private scheduleReconnect(): void {
    const options = this.reconnectOptions || {};
    if (options.maxAttempts !== undefined && this.attempts >= options.maxAttempts) {
      this.finish({
        code: 1006,
        reason: "gave up reconnecting",
        error: new EdgechatError("connect_failed", `gave up after ${this.attempts} reconnect attempts`),
      });
      return;
    }
    const delay = backoffDelay(this.attempts, options, this.random);
    this.attempts += 1;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  /**
   * One reconnect attempt, straight into the room it was in (one join notice, no detour): the URL
   * carries its resume point, session and params, and every token that has not expired (their
   * grants — private rooms, attributes that filters match — are then in force before the replay is
   * filtered). Tokens that could not go in the URL are presented with `auth` afterwards, so an
   * expired one costs a failure report, not the reconnect. A private room no URL token names is
   * reached with `roomChange` after `auth`.
   */
  private async reconnect(): Promise<void> {
    if (this.stopped) return;
    const session = this.session;
    const target = session.room ?? session.firstRoom;
    const held = [session.connectToken, ...session.tokens].filter((token): token is string => token !== undefined);
    const now = Date.now();
    // At most MAX_URL_TOKENS (the server takes 16 at connect); the others are presented with auth.
    const urlTokens = this.tokensInUrl ? held.filter((token) => stillValid(readClaims(token), now)).slice(0, MAX_URL_TOKENS) : [];
    const granted = (room: string) => urlTokens.some((token) => readClaims(token)?.rooms.includes(room));
    // Resume where the last socket stopped: the room replays what was missed, in order, first.
    const rejoined = target !== undefined && (!isPrivateRoom(target) || granted(target)) ? target : undefined;
    const urlParams = this.paramsForUrl();
    const url = connectUrl(this.url, {
      room: rejoined,
      token: urlTokens,
      ...(rejoined === undefined ? {} : session.resume(rejoined)),
      session: session.session,
      params: urlParams,
    });
    let welcome: WelcomeMessage;
    try {
      welcome = await this.open(url, rejoined !== undefined && session.lastSeq.has(rejoined));
    } catch (error) {
      if (this.stopped) return;
      const failure = error as EdgechatError;
      if (failure.code === "invalid_token" && urlTokens.length > 0) {
        // A token the server no longer accepts (its secret changed): try again presenting them with auth.
        this.tokensInUrl = false;
        this.scheduleReconnect();
      } else if (failure.code === "invalid_room" || failure.code === "invalid_token" || failure.code === "not_authorized" || failure.code === "bad_request") {
        this.finish({ code: 1006, reason: failure.message, error: failure });
      } else this.scheduleReconnect();
      return;
    }
    const link = this.link;
    const failures = await this.restore(welcome, target, urlTokens, urlParams ?? {});
    if (this.stopped || !link || this.link !== link) return; // closed meanwhile; `lost` took over
    const attempts = this.attempts;
    const previousId = this.idBeforeDrop;
    this.becomeOpen();
    this.emit("reconnect", { id: welcome.id, previousId, attempts, ...session.snapshot(), failures });
  }

  /** The params to put in the reconnect URL: all of them if they fit, else just the filter pair. */
  private paramsForUrl(): Record<string, string> | undefined {
    const params = this.session.params;
    if (params.size === 0) return undefined;
    const all = Object.fromEntries(params);
    if (JSON.stringify(all).length <= MAX_URL_PARAMS_CHARS) return all;
    const filter: Record<string, string> = {};
    for (const key of ["roomMatchKey", "roomMatchValue"]) {
      const value = params.get(key);
      if (value !== undefined) filter[key] = value;
    }
    return filter;
  }

  /** Sends the restore requests (paced under the rate limit) and returns the ones refused. */
  private async restore(welcome: WelcomeMessage, target: string | undefined, urlTokens: string[], inUrl: Record<string, string>): Promise<Error[]> {
    const session = this.session;
    const steps: ClientRequest[] = [];
    for (const token of [session.connectToken, ...session.tokens]) if (token && !urlTokens.includes(token)) steps.push({ verb: "auth", token });
    for (const [key, value] of session.params) if (inUrl[key] !== value) steps.push({ verb: "paramAdd", key, value });
    if (target !== undefined && target !== welcome.room) steps.push({ verb: "roomChange", room: target, ...session.resume(target) });
    // A listened room that is also the room it is in is already being resumed (and received): no second replay.
    for (const room of session.listening) steps.push({ verb: "listenToRoom", room, ...(room === target ? {} : session.resume(room)) });

    const results: Promise<unknown>[] = [];
    for (let i = 0; i < steps.length; i++) {
      if (i >= RESTORE_BURST) await new Promise((resolve) => setTimeout(resolve, RESTORE_SPACING_MS));
      if (this.stopped || this.link === undefined) break;
      const step = steps[i];
      results.push(
        this.send(step, true).then(
          // The new connection receives none of these rooms until its OK arrives.
          (response) => this.remember(step, response.data, false),
          (error: EdgechatError) => {
            this.forget(step, error);
            throw error;
          },
        ),
      );
    }
    const settled = await Promise.allSettled(results);
    return settled.flatMap((result) => (result.status === "rejected" ? [result.reason as Error] : []));
  }

  /**
   * A restore step the server refused is dropped from the session, so the mirror matches the
   * server and the next reconnect does not try it again. (A lost connection is not a refusal.)
   */
  private forget(request: ClientRequest, error: EdgechatError): void {
    if (error.code === "disconnected" || error.code === "closed" || error.code === "timeout") return;
    const session = this.session;
    if (request.verb === "auth") {
      if (request.token === session.connectToken) session.connectToken = undefined;
      const index = session.tokens.indexOf(request.token);
      if (index !== -1) session.tokens.splice(index, 1);
    } else if (request.verb === "paramAdd") session.params.delete(request.key);
    else if (request.verb === "listenToRoom") session.silence(request.room);
  }
}
