import WebSocket from "ws";
import { EdgechatClient } from "../../src/client/index.js";
import type { ClientEvents, ClientOptions, WebSocketConstructorLike } from "../../src/client/index.js";

/** Every text frame a test client's sockets sent and received, in order. */
export interface FrameLog {
  sent: string[];
  received: string[];
  sockets: WebSocket[];
}

/**
 * A `ws` WebSocket class for the client (no permessage-deflate, like the gateway) that also
 * logs frames, so tests can see keep-alive pings and reach the raw socket to kill it.
 */
export function loggingWebSocket(log: FrameLog): WebSocketConstructorLike {
  return class LoggedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { perMessageDeflate: false });
      log.sockets.push(this);
      this.on("message", (data, isBinary) => {
        if (!isBinary) log.received.push(data.toString());
      });
    }

    override send(data: string): void {
      log.sent.push(data);
      super.send(data);
    }
  };
}

type EventName = keyof ClientEvents;
type Recorded = { [K in EventName]: { name: K; payload: ClientEvents[K] } }[EventName];

/** Records a client's events; tests wait for the next matching one instead of sleeping. */
export class EventLog {
  readonly events: Recorded[] = [];
  private cursors = new Map<EventName, number>();
  private waiters: (() => void)[] = [];

  constructor(client: EdgechatClient) {
    const names: EventName[] = ["welcome", "message", "join", "leave", "direct", "close", "reconnect", "status", "gap"];
    for (const name of names) {
      client.on(name, (payload) => {
        this.events.push({ name, payload } as Recorded);
        const waiters = this.waiters;
        this.waiters = [];
        for (const wake of waiters) wake();
      });
    }
  }

  all<K extends EventName>(name: K): ClientEvents[K][] {
    return this.events.filter((e) => e.name === name).map((e) => e.payload as ClientEvents[K]);
  }

  /** The next `name` event (after those already taken) that matches, within timeoutMs. */
  async next<K extends EventName>(name: K, match: (payload: ClientEvents[K]) => boolean = () => true, timeoutMs = 5000): Promise<ClientEvents[K]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const list = this.all(name);
      let cursor = this.cursors.get(name) ?? 0;
      while (cursor < list.length) {
        const payload = list[cursor++];
        this.cursors.set(name, cursor);
        if (match(payload)) return payload;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for "${name}"; events so far: ${JSON.stringify(this.events.slice(-8))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Asserts no `name` event matching arrives within the window. */
  async none<K extends EventName>(name: K, match: (payload: ClientEvents[K]) => boolean = () => true, windowMs = 300): Promise<void> {
    const start = this.all(name).length;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const hit = this.all(name).slice(start).find(match);
    if (hit !== undefined) throw new Error(`expected no "${name}", got ${JSON.stringify(hit)}`);
  }
}

export interface TestClient {
  client: EdgechatClient;
  events: EventLog;
  frames: FrameLog;
  /** Kills the current socket without a close handshake, as a network drop would. */
  drop(): void;
}

/** A connected client on `ws`, with its events and frames recorded. Reconnects fast by default. */
export async function openClient(baseUrl: string, options: ClientOptions = {}): Promise<TestClient> {
  const frames: FrameLog = { sent: [], received: [], sockets: [] };
  const client = new EdgechatClient(baseUrl, {
    WebSocket: loggingWebSocket(frames),
    reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    ...options,
  });
  const events = new EventLog(client);
  await client.connect();
  return {
    client,
    events,
    frames,
    drop: () => {
      const socket = client.socket as WebSocket | undefined;
      if (!socket) throw new Error("no socket to drop");
      socket.terminate();
    },
  };
}

const ADMIN_TOKEN = "dev-admin-token";

/** Calls the Worker's server API with the example admin token. */
export async function api(baseUrl: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Mints a token for rooms (and attributes) through POST /api/tokens. */
export async function mintToken(baseUrl: string, rooms: string[], attributes?: Record<string, string>, ttlSeconds?: number): Promise<string> {
  const { status, body } = await api(baseUrl, "POST", "/api/tokens", { rooms, attributes, ttlSeconds });
  if (status !== 200) throw new Error(`minting a token failed: ${status} ${JSON.stringify(body)}`);
  return body.token as string;
}

let roomCounter = 0;
/** A room name no other test uses. */
export function uniqueRoom(prefix = "room"): string {
  roomCounter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${roomCounter}`;
}
