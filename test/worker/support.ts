/**
 * Helpers for the in-workerd tests: a chat client over the Worker's /connect that queues every
 * frame it receives, so a test awaits the next frame that matches (with a timeout) instead of
 * sleeping, plus small wrappers for the server API.
 */
import { env, exports } from "cloudflare:workers";

/** Settings from .dev.vars.example and wrangler.toml, as the "worker" project binds them. */
export const ADMIN_TOKEN = "dev-admin-token";
export const SERVER_NAME = "edgechat";
export const DEFAULT_ROOM = "defaultRoom";
export const WELCOME_MESSAGE = "Hello! Welcome to edgechat";

/** Connection ids: `<64 hex host object id>.<32 hex random>`. */
export const CONNECTION_ID = /^[0-9a-f]{64}\.[0-9a-f]{32}$/;

// Storage is per test file, but tests of one file share it: every test uses fresh room names.
let roomCounter = 0;
const runTag = Math.random().toString(36).slice(2, 8);
export function uniqueRoom(prefix = "room"): string {
  roomCounter += 1;
  return `${prefix}-${runTag}-${roomCounter}`;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Frame = Record<string, any>;
export type Received = Frame | string;

const DEFAULT_TIMEOUT_MS = 5000;

function isObject(frame: Received): frame is Frame {
  return typeof frame === "object" && frame !== null;
}

export const isResponse = (frame: Received): frame is Frame => isObject(frame) && frame.context === "response";
export const isChat = (frame: Received): frame is Frame => isObject(frame) && frame.context === "user" && typeof frame.seq === "number";

/**
 * One chat connection. Every frame received is appended to `log` (full history, in order) and to
 * a queue of frames not yet taken; `next(match)` takes the first queued frame that matches, so
 * responses and chat messages can be awaited independently of how they interleave.
 */
export class Client {
  readonly log: Received[] = [];
  private readonly queue: Received[] = [];
  private wakers: (() => void)[] = [];
  closed: { code: number; reason: string; wasClean: boolean } | undefined;
  /** The welcome (or, for a refused connect, undefined until `next()` reads the refusal). */
  welcome: Frame | undefined;

  constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (event) => {
      const data = event.data;
      let frame: Received;
      if (typeof data !== "string") {
        frame = `<binary ${(data as ArrayBuffer).byteLength}>`;
      } else {
        try {
          const parsed: unknown = JSON.parse(data);
          frame = typeof parsed === "object" && parsed !== null ? (parsed as Frame) : data;
        } catch {
          frame = data; // "pong" is the only non-JSON frame
        }
      }
      this.log.push(frame);
      this.queue.push(frame);
      this.wake();
    });
    ws.addEventListener("close", (event) => {
      this.closed = { code: event.code, reason: event.reason, wasClean: event.wasClean };
      this.wake();
    });
    ws.addEventListener("error", () => {
      this.closed ??= { code: 1006, reason: "error event", wasClean: false };
      this.wake();
    });
  }

  get id(): string {
    if (!this.welcome) throw new Error("no welcome yet");
    return this.welcome.id as string;
  }

  /** The object hosting this connection's socket: the one the connect went to. */
  get hostStub() {
    return hostStubOf(this.id);
  }

  /**
   * Sends one frame. Caution: under vitest-pool-workers 0.15.1 a burst of frames sent without
   * waiting can reach the object's webSocketMessage permuted (seen by wrapping the handler; real
   * sockets under Miniflare keep the order), so a test that sends a burst must read the order the
   * server took the requests in from messageCount, not assume the send order.
   */
  send(frame: string | Frame | ArrayBuffer | Uint8Array): void {
    if (typeof frame === "string" || frame instanceof ArrayBuffer || frame instanceof Uint8Array) this.ws.send(frame);
    else this.ws.send(JSON.stringify(frame));
  }

  /** Takes the first not-yet-taken frame that matches, waiting up to timeoutMs. */
  async next(match: (frame: Received) => boolean = () => true, timeoutMs = DEFAULT_TIMEOUT_MS, what = "a frame"): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.queue.findIndex(match);
      if (index !== -1) return this.queue.splice(index, 1)[0];
      if (this.closed) {
        throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting for ${what}; queued: ${this.describeQueue()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; queued: ${this.describeQueue()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The next response (responses come in request order). */
  async response(timeoutMs?: number): Promise<Frame> {
    return (await this.next(isResponse, timeoutMs, "a response")) as Frame;
  }

  /** Sends one request and returns its response. */
  async request(frame: string | Frame | ArrayBuffer | Uint8Array): Promise<Frame> {
    this.send(frame);
    return this.response();
  }

  /** Sends a request and checks it was answered OK; returns the response's data. */
  async ok(frame: string | Frame): Promise<unknown> {
    const response = await this.request(frame);
    if (response.status !== "OK") throw new Error(`expected OK for ${JSON.stringify(frame)}, got ${JSON.stringify(response)}`);
    return response.data;
  }

  /** The next chat message (context "user" with a seq) that matches. */
  async chat(match: (frame: Frame) => boolean = () => true, timeoutMs?: number): Promise<Frame> {
    return (await this.next((frame) => isChat(frame) && match(frame), timeoutMs, "a chat message")) as Frame;
  }

  /** The next chat message whose `message` equals `message`. */
  async chatWith(message: unknown, timeoutMs?: number): Promise<Frame> {
    const wanted = JSON.stringify(message);
    return this.chat((frame) => JSON.stringify(frame.message) === wanted && frame.event === undefined, timeoutMs);
  }

  /** The next join or leave notice about `subject`. */
  async notice(event: "join" | "leave", subject: string, timeoutMs?: number): Promise<Frame> {
    return this.chat((frame) => frame.event === event && frame.from === subject, timeoutMs);
  }

  /**
   * Proves a negative: waits `windowMs` (the only sleep these tests use) and fails if a matching
   * frame was queued meanwhile or is still queued.
   */
  async expectNothing(match: (frame: Received) => boolean = () => true, windowMs = 300): Promise<void> {
    await sleep(windowMs);
    const hit = this.queue.find(match);
    if (hit !== undefined) throw new Error(`expected nothing, got ${JSON.stringify(hit)}`);
  }

  /** Every frame still queued (not taken by next()). */
  pending(): Received[] {
    return [...this.queue];
  }

  /** Waits until the socket is closed by the server. */
  async waitClosed(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<{ code: number; reason: string; wasClean: boolean }> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`socket did not close within ${timeoutMs} ms; queued: ${this.describeQueue()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wakers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.closed;
  }

  close(code = 1000, reason = "done"): void {
    try {
      this.ws.close(code, reason);
    } catch {
      // already closed
    }
  }

  private describeQueue(): string {
    const text = JSON.stringify(this.queue.slice(-6));
    return text.length > 1500 ? `${text.slice(0, 1500)}…` : text;
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** GET /connect with the upgrade; `query` is appended as is (e.g. "room=lobby"). */
export async function connectRaw(query = ""): Promise<{ response: Response; client: Client }> {
  const response = await exports.default.fetch(`https://edgechat.test/connect${query === "" ? "" : `?${query}`}`, {
    headers: { Upgrade: "websocket" },
  });
  const ws = response.webSocket;
  if (!ws) throw new Error(`no WebSocket in the /connect answer (status ${response.status}): ${await response.text()}`);
  const client = new Client(ws);
  ws.accept();
  return { response, client };
}

/** Connects into `room` (or the default room when undefined) and waits for the welcome. */
export async function connect(room?: string): Promise<Client> {
  const { client } = await connectRaw(room === undefined ? "" : `room=${encodeURIComponent(room)}`);
  const welcome = await client.next(() => true, DEFAULT_TIMEOUT_MS, "the welcome");
  if (typeof welcome !== "object" || typeof welcome.id !== "string" || welcome.welcome === undefined) {
    throw new Error(`expected a welcome, got ${JSON.stringify(welcome)}`);
  }
  client.welcome = welcome;
  return client;
}

/**
 * Connects into `via` and moves to `room`: the connection's socket stays hosted by `via`'s object,
 * so `room` reaches it through another object.
 */
export async function connectVia(via: string, room: string): Promise<Client> {
  const client = await connect(via);
  const moved = await client.ok({ event: "roomChange", room });
  if ((moved as { room?: unknown }).room !== room) throw new Error(`roomChange answered ${JSON.stringify(moved)}`);
  return client;
}

/** Stub of the object that hosts a connection's socket. */
export function hostStubOf(connectionId: string) {
  return env.ROOMS.get(env.ROOMS.idFromString(connectionId.split(".")[0]));
}

/** Stub of the object that is room `room`. */
export function roomStub(room: string) {
  return env.ROOMS.get(env.ROOMS.idFromName(room));
}

export interface ApiOptions {
  method?: string;
  body?: unknown;
  /** Raw body text, sent as is. */
  rawBody?: string;
  /** Authorization header; default the right bearer; null sends none. */
  auth?: string | null;
}

/** Calls the server API and returns the status and the parsed JSON body. */
export async function api(path: string, options: ApiOptions = {}): Promise<{ status: number; body: Frame; headers: Headers }> {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? `Bearer ${ADMIN_TOKEN}` : options.auth;
  if (auth !== null) headers.Authorization = auth;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await exports.default.fetch(`https://edgechat.test${path}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  const text = await response.text();
  let parsed: Frame;
  try {
    parsed = JSON.parse(text) as Frame;
  } catch {
    throw new Error(`${path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export function broadcast(room: string, body: Frame): Promise<{ status: number; body: Frame }> {
  return api(`/api/rooms/${encodeURIComponent(room)}/broadcast`, { method: "POST", body });
}

export function roomStatus(room: string): Promise<{ status: number; body: Frame }> {
  return api(`/api/rooms/${encodeURIComponent(room)}`);
}

export function setAttributes(id: string, patch: Frame): Promise<{ status: number; body: Frame }> {
  return api(`/api/connections/${encodeURIComponent(id)}/attributes`, { method: "PATCH", body: patch });
}

export function sendMessage(id: string, body: Frame): Promise<{ status: number; body: Frame }> {
  return api(`/api/connections/${encodeURIComponent(id)}/messages`, { method: "POST", body });
}

/** Asserts the chat messages of `room` in `frames` have strictly increasing, gap-free seq numbers. */
export function seqsOf(frames: Received[], room: string): number[] {
  return frames.filter((frame): frame is Frame => isChat(frame) && frame.room === room).map((frame) => frame.seq as number);
}
