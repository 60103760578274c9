import { createHmac } from "node:crypto";
import { request as httpRequest } from "node:http";
import { connect as tcpConnect, type Socket } from "node:net";
import { SignJWT, generateKeyPair, type JWTPayload } from "jose";
import type { RunningWorker } from "./worker.js";
import { Inbox, parseFrame } from "./inbox.js";
import { TestSocket, type Message } from "./wsClient.js";

/** Helpers shared by the security/robustness suites (hostile, tokens, limits, serverApi, soak). */

export const ADMIN_TOKEN = "dev-admin-token";
export const TOKEN_SECRET = "dev-token-secret";

let counter = 0;
/** A room name nobody else in this process uses (valid: letters, digits, `-`). */
export function uniqueRoom(prefix = "r"): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function isResponse(message: Message | string): message is Message {
  return typeof message === "object" && message.context === "response";
}

export function isChat(message: Message | string): message is Message {
  return typeof message === "object" && message.context === "user";
}

// ---- a client over either transport ------------------------------------------------------------

/** What the tables need of a connection, whether WebSocket or a TCP line of the gateway. */
export interface ChatClient {
  readonly transport: "ws" | "tcp";
  readonly id: string;
  readonly received: (Message | string)[];
  /** One request: a WebSocket text frame, or a line (the `\n` is added). */
  send(frame: string | Message): void;
  /** Bytes as they are: a binary WebSocket frame, or raw bytes on the TCP stream. */
  sendRaw(bytes: Buffer): void;
  request(frame: string | Message): Promise<Message>;
  next(match?: (message: Message | string) => boolean, timeoutMs?: number): Promise<Message | string>;
  nextChat(match?: (message: Message) => boolean, timeoutMs?: number): Promise<Message>;
  nothing(match?: (message: Message | string) => boolean, windowMs?: number): Promise<void>;
  isClosed(): boolean;
  waitClosed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): void;
  terminate(): void;
}

/** The WebSocket half: TestSocket plus the welcome's id. */
export class WsChatClient implements ChatClient {
  readonly transport = "ws" as const;
  constructor(
    readonly socket: TestSocket,
    readonly id: string,
    readonly room: string,
  ) {}

  static async connect(worker: RunningWorker, query: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<WsChatClient> {
    const qs = new URLSearchParams(query).toString();
    const { socket, id, room } = await TestSocket.connect(`${worker.wsUrl}/connect${qs ? `?${qs}` : ""}`, headers);
    return new WsChatClient(socket, id, room);
  }

  get received(): (Message | string)[] {
    return this.socket.received;
  }
  send(frame: string | Message): void {
    this.socket.send(frame);
  }
  sendRaw(bytes: Buffer): void {
    this.socket.ws.send(bytes, { binary: true });
  }
  request(frame: string | Message): Promise<Message> {
    return this.socket.request(frame);
  }
  next(match?: (message: Message | string) => boolean, timeoutMs?: number): Promise<Message | string> {
    return this.socket.next(match, timeoutMs);
  }
  nextChat(match?: (message: Message) => boolean, timeoutMs?: number): Promise<Message> {
    return this.socket.nextChat(match, timeoutMs);
  }
  nothing(match?: (message: Message | string) => boolean, windowMs?: number): Promise<void> {
    return this.socket.nothing(match, windowMs);
  }
  isClosed(): boolean {
    return this.socket.closed !== undefined;
  }
  waitClosed(timeoutMs?: number): Promise<{ code: number; reason: string }> {
    return this.socket.waitClosed(timeoutMs);
  }
  close(): void {
    this.socket.close();
  }
  terminate(): void {
    this.socket.terminate();
  }
}

/**
 * The TCP half: a raw line client of the gateway. Every line the server sends is kept in order
 * (JSON parsed; `pong` stays a string), like TestSocket.
 */
export class TcpChatClient implements ChatClient {
  readonly transport = "tcp" as const;
  id = "";
  private buffer = "";
  private ended = false;
  private readonly inbox = new Inbox(() => (this.ended ? "TCP connection closed" : undefined));

  private constructor(readonly socket: Socket) {
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      this.buffer += chunk;
      for (let nl = this.buffer.indexOf("\n"); nl !== -1; nl = this.buffer.indexOf("\n")) {
        const line = this.buffer.slice(0, nl).replace(/\r$/, "");
        this.buffer = this.buffer.slice(nl + 1);
        this.inbox.push(parseFrame(line));
      }
    });
    socket.on("close", () => {
      this.ended = true;
      this.inbox.wake();
    });
    socket.on("error", () => {
      this.ended = true;
      this.inbox.wake();
    });
  }

  get received(): (Message | string)[] {
    return this.inbox.received;
  }

  static async connect(host: string, port: number): Promise<TcpChatClient> {
    const socket = tcpConnect({ host, port });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const client = new TcpChatClient(socket);
    const welcome = (await client.next()) as Message;
    if (typeof welcome.id !== "string") throw new Error(`expected a welcome, got ${JSON.stringify(welcome)}`);
    client.id = welcome.id;
    return client;
  }

  send(frame: string | Message): void {
    this.socket.write(`${typeof frame === "string" ? frame : JSON.stringify(frame)}\n`);
  }
  sendRaw(bytes: Buffer): void {
    this.socket.write(bytes);
  }
  async request(frame: string | Message): Promise<Message> {
    this.send(frame);
    return (await this.next(isResponse)) as Message;
  }
  next(match?: (message: Message | string) => boolean, timeoutMs?: number): Promise<Message | string> {
    return this.inbox.next(match, timeoutMs);
  }
  async nextChat(match: (message: Message) => boolean = () => true, timeoutMs?: number): Promise<Message> {
    return (await this.next((m) => isChat(m) && match(m), timeoutMs)) as Message;
  }
  nothing(match?: (message: Message | string) => boolean, windowMs?: number): Promise<void> {
    return this.inbox.nothing(match, windowMs);
  }
  isClosed(): boolean {
    return this.ended;
  }
  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.ended) return Promise.resolve({ code: 0, reason: "tcp" });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("TCP connection did not close")), timeoutMs);
      this.socket.once("close", () => {
        clearTimeout(timer);
        resolve({ code: 0, reason: "tcp" });
      });
    });
  }
  /** Half-close: the client ends its side, as `nc` does at end of input. */
  end(): void {
    this.socket.end();
  }
  close(): void {
    this.socket.end();
    this.socket.destroySoon();
  }
  terminate(): void {
    this.socket.destroy();
  }
}

// ---- the server API ----------------------------------------------------------------------------

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
  text: string;
}

/**
 * One HTTP request on a fresh connection (no keep-alive pool, so a connection the server closed
 * after answering early is never reused). The body may be streamed in chunks; writing stops as
 * soon as the answer arrives, and write errors after that are ignored.
 */
export function rawHttp(
  worker: RunningWorker,
  method: string,
  path: string,
  options: {
    headers?: Record<string, string>;
    chunks?: Buffer[];
    chunked?: boolean;
    /** After the first chunk, give the server this long to answer (from the headers) before sending the rest. */
    answerWindowMs?: number;
  } = {},
): Promise<ApiAnswer> {
  const url = new URL(`${worker.url}${path}`);
  const chunks = options.chunks ?? [];
  const headers: Record<string, string> = { ...options.headers };
  if (!options.chunked && chunks.length > 0) headers["Content-Length"] = String(chunks.reduce((n, c) => n + c.length, 0));
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, agent: false });
    req.on("response", (res) => {
      answered = true;
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => {
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(text) as Record<string, unknown>;
        } catch {
          body = { unparsable: text };
        }
        resolve({ status: res.statusCode ?? 0, body, text });
      });
      res.on("error", reject);
    });
    req.on("error", (error) => {
      if (!answered) reject(error);
    });
    void (async () => {
      for (const [index, chunk] of chunks.entries()) {
        if (answered || req.destroyed) return;
        if (!req.write(chunk)) await new Promise<void>((done) => req.once("drain", done).once("close", done));
        if (index === 0 && options.answerWindowMs) {
          const deadline = Date.now() + options.answerWindowMs;
          while (!answered && !req.destroyed && Date.now() < deadline) await new Promise((done) => setTimeout(done, 10));
        }
      }
      if (!answered && !req.destroyed) req.end();
    })();
  });
}

/** Calls the server API with the admin bearer (unless headers say otherwise) and parses the JSON. */
export async function api(
  worker: RunningWorker,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { Authorization: `Bearer ${ADMIN_TOKEN}` },
): Promise<ApiAnswer> {
  const all = { ...headers };
  const chunks: Buffer[] = [];
  if (body !== undefined) {
    chunks.push(Buffer.from(typeof body === "string" ? body : JSON.stringify(body)));
    all["Content-Type"] = "application/json";
  }
  return rawHttp(worker, method, path, { headers: all, chunks });
}

export async function roomMembers(worker: RunningWorker, room: string): Promise<string[]> {
  const answer = await api(worker, "GET", `/api/rooms/${encodeURIComponent(room)}`);
  if (answer.status !== 200) throw new Error(`room status ${answer.status}: ${answer.text}`);
  return answer.body.members as string[];
}

/** Listener counts of the rooms asked for, from the room directory (GET /api/rooms, paged); 0 when not listed. */
export async function listenerCounts(worker: RunningWorker, rooms: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>(rooms.map((room) => [room, 0]));
  let after = "";
  for (let page = 0; page < 1000; page++) {
    const answer = await api(worker, "GET", `/api/rooms${after ? `?after=${encodeURIComponent(after)}` : ""}`);
    if (answer.status !== 200) throw new Error(`room list ${answer.status}: ${answer.text}`);
    for (const entry of answer.body.rooms as { room: string; listenersCount: number }[]) {
      if (counts.has(entry.room)) counts.set(entry.room, entry.listenersCount);
    }
    if (typeof answer.body.next !== "string") break;
    after = answer.body.next;
  }
  return counts;
}

// ---- tokens ------------------------------------------------------------------------------------

const secretKey = (secret: string) => new TextEncoder().encode(secret);

export interface TokenClaims {
  rooms?: unknown;
  attributes?: unknown;
  exp?: unknown;
  [claim: string]: unknown;
}

/** A correctly signed HS256 token; `exp` defaults to an hour from now unless given (or `undefined` in claims). */
export async function hs256Token(claims: TokenClaims, secret = TOKEN_SECRET): Promise<string> {
  const payload: Record<string, unknown> = { exp: Math.floor(Date.now() / 1000) + 3600, ...claims };
  if (Object.hasOwn(claims, "exp") && claims.exp === undefined) delete payload.exp;
  return new SignJWT(payload as JWTPayload).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(secretKey(secret));
}

export async function hs512Token(claims: TokenClaims, secret = TOKEN_SECRET): Promise<string> {
  return new SignJWT({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims } as JWTPayload)
    .setProtectedHeader({ alg: "HS512", typ: "JWT" })
    .sign(secretKey(secret));
}

export async function rs256Token(claims: TokenClaims): Promise<string> {
  const { privateKey } = await generateKeyPair("RS256");
  return new SignJWT({ exp: Math.floor(Date.now() / 1000) + 3600, ...claims } as JWTPayload)
    .setProtectedHeader({ alg: "RS256", typ: "JWT" })
    .sign(privateKey);
}

const b64url = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

/** A hand-built JWT: any header, any payload, signed with HMAC-SHA256 over the usual input (or unsigned). */
export function handBuiltToken(header: Record<string, unknown>, payload: Record<string, unknown>, sign: "hmac-sha256" | "none" = "hmac-sha256", secret = TOKEN_SECRET): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  if (sign === "none") return `${input}.`;
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`;
}

export function hourFromNow(): number {
  return Math.floor(Date.now() / 1000) + 3600;
}

// ---- waiting -----------------------------------------------------------------------------------

/** Polls until check() returns true (no fixed sleeps in assertions); throws with the last detail. */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`gave up waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
