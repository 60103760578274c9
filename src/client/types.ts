import type {
  ChatMessage,
  DirectMessage,
  ErrorCode,
  GapMessage,
  GatewayRefusalCode,
  PresenceMessage,
  RefusalCode,
  ResumeArgs,
  WelcomeMessage,
} from "../protocol/index.js";

export type {
  AuthData,
  DetailsData,
  HistoryData,
  RoomData,
  RoomJoinedData,
  RoomViewData,
  SayData,
  DirectMessage,
} from "../protocol/index.js";

/**
 * The smallest WHATWG-style WebSocket the client needs: the browser's `WebSocket`, the `ws`
 * package's, or anything else with the same shape. Handler parameters are `any` so that both the
 * DOM and `ws` event types fit.
 */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onopen: ((event: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onmessage: ((event: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onclose: ((event: any) => void) | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  onerror: ((event: any) => void) | null;
}

export type WebSocketConstructorLike = new (url: string) => WebSocketLike;

export type ConnectionStatus = "idle" | "connecting" | "open" | "reconnecting" | "closed";

export interface ReconnectOptions {
  /** First delay before a reconnect attempt (before jitter). Default 500 ms. */
  initialDelayMs?: number;
  /** Upper bound of the delay. Default 30 s. */
  maxDelayMs?: number;
  /** Give up after this many failed attempts in a row. Default: never. */
  maxAttempts?: number;
}

export interface ClientOptions {
  /** First room (`?room=`); the server's DEFAULT_ROOM when absent. */
  room?: string;
  /** A token presented at connect (`?token=`). */
  token?: string;
  /** Replay the first room's kept messages after this seq on connect (`?since=`; 0 = all kept). */
  since?: number;
  /** The WebSocket implementation; `globalThis.WebSocket` when absent. */
  WebSocket?: WebSocketConstructorLike;
  /** How long a request may wait for its response. Default 15 s. */
  requestTimeoutMs?: number;
  /** Keep-alive: send the text frame `ping` this often; 0 turns it off. Default 25 s. */
  pingIntervalMs?: number;
  /** Reconnect after an unexpected close (default on), or `false` to stay closed. */
  reconnect?: ReconnectOptions | false;
  /** Random source for the backoff jitter (tests). Default Math.random. */
  random?: () => number;
}

/** Error codes the client itself produces, next to the protocol's. */
export type ClientErrorCode =
  | "disconnected" // the connection went away before the response arrived
  | "closed" // the client was closed by the app
  | "timeout" // no response within requestTimeoutMs
  | "connect_failed"; // the socket could not be opened or closed before the welcome

export type EdgechatErrorCode = ErrorCode | RefusalCode | GatewayRefusalCode | ClientErrorCode;

/**
 * Resume a room: replay its kept messages with a seq above `since` before anything live; `epoch`
 * is the epoch that seq belongs to (a different one gets a `gap` with reason "reset" and then
 * everything kept). The client resumes by itself after a drop; these are for resuming by hand.
 */
export type ResumeOptions = Pick<ResumeArgs, "since" | "epoch">;

export interface SayOptions {
  roomMatchKey?: string;
  roomMatchValue?: string;
}

export interface CloseInfo {
  code: number;
  reason: string;
  /** Whether the client will try to reconnect. */
  willReconnect: boolean;
  /** The goodbye's reason, when the server said goodbye before closing. */
  goodbye?: string;
  /** Why a connect was refused, or why reconnecting stopped. */
  error?: Error;
}

export interface ReconnectInfo {
  /** The new connection id. */
  id: string;
  previousId: string | undefined;
  /** Failed attempts before this one succeeded. */
  attempts: number;
  room: string;
  listening: string[];
  params: Record<string, string>;
  /** Last seq received per room before the drop; messages in between were not delivered. */
  lastSeq: Record<string, number>;
  /** Restore steps the server refused (for example an expired token); the rest was restored. */
  failures: Error[];
}

export interface StatusChange {
  status: ConnectionStatus;
  previous: ConnectionStatus;
}

/** Every event the client emits and its payload. */
export interface ClientEvents {
  welcome: WelcomeMessage;
  /** A chat message (a `say` or a server broadcast) into your room or a room you listen to. */
  message: ChatMessage;
  join: ChatMessage;
  leave: ChatMessage;
  /** A message sent to this connection alone (`POST /api/connections/:id/messages`). */
  direct: DirectMessage;
  close: CloseInfo;
  reconnect: ReconnectInfo;
  status: StatusChange;
  /** A big room's members count (instead of join/leave notices above PRESENCE_NOTICE_LIMIT members). */
  presence: PresenceMessage;
  /** A resume asked for messages the room no longer keeps: seqs after `from` up to `to` are lost. */
  gap: GapMessage;
}
