import type { MatchFilter, NoticeEvent } from "../protocol/index.js";

/**
 * What hooks see of a connection (read-only). `attributes` are server-trusted (tokens, the admin
 * API, `onBeforeConnect`); `params` are client-set and must never decide trust.
 */
export interface ConnectionInfo {
  readonly id: string;
  /** The connection's current room. */
  readonly room: string;
  readonly session: string;
  readonly params: ReadonlyMap<string, string>;
  readonly attributes: ReadonlyMap<string, string>;
  readonly grantedRooms: ReadonlySet<string>;
  readonly listening: readonly string[];
  readonly remoteIP: string;
  /** Epoch ms. */
  readonly connectedAt: number;
  readonly viaGateway: boolean;
}

/** A recipient as the delivering host sees it (its sockets, its state): the same shape. */
export type RecipientInfo = ConnectionInfo;

/** A numbered broadcast: a `say`, a server broadcast, or a join/leave notice (`event`). */
export interface BroadcastInfo {
  room: string;
  seq: number;
  /** Sender connection id, or SERVER_NAME for a server broadcast. */
  from: string;
  /** The message as sent (parsed from the frame on first use). */
  readonly message: unknown;
  /** join / leave for notices. */
  event?: NoticeEvent;
  /** The roomMatchKey/roomMatchValue filter it was sent with. */
  filter?: MatchFilter;
  /** The exact frame every recipient gets. */
  payload: string;
}

/** A broadcast after the room numbered and stored it, for `onBroadcast` (persisting, forwarding). */
export interface NumberedBroadcast {
  room: string;
  seq: number;
  /** The room's stream identity (see the protocol's resume points). */
  epoch: string;
  from: string;
  message: unknown;
  event?: NoticeEvent;
  filter?: MatchFilter;
  /** Epoch ms. */
  sentAt: number;
}

/** A member as its room records it, for `onJoin` / `onLeave`. */
export interface MemberInfo {
  room: string;
  id: string;
  session: string;
}

/** How a connection is entering a room, for `authorizeJoin`. */
export type JoinKind = "connect" | "roomChange" | "listenToRoom";

/**
 * What `onBeforeConnect` grants a connection instead of (or besides) a token: rooms it may join
 * or listen to (private rooms included) and server-trusted attributes. The same rules as token
 * grants apply (attributes named `id` or `room` are ignored).
 */
export interface ConnectGrant {
  rooms?: string[];
  attributes?: Record<string, string>;
}

/**
 * The hooks a ChatRoom subclass may override. Each runs inside the room object; a hook that
 * throws never breaks the room: the connection gets an error response in the protocol's shape
 * (the thrown ProtocolError's code, or `bad_request` "… try again" for anything else) and nothing
 * changes, or, for the notification hooks, the error is logged.
 */
export interface ChatHooks {
  /**
   * May the connection enter `room`? Runs on the connection's host for the first room (`connect`),
   * `roomChange` and `listenToRoom`, after the built-in private-room check. Return false (or a
   * reason) to refuse with `not_authorized`. Default: true.
   */
  authorizeJoin(connection: ConnectionInfo, room: string, kind: JoinKind): boolean | string | Promise<boolean | string>;
  /**
   * A `say` before it is numbered: return the message to broadcast (the same, or changed), or throw
   * a ProtocolError (e.g. `new ProtocolError("rejected", "no links please")`) to refuse it. Default:
   * the message unchanged.
   */
  onSay(connection: ConnectionInfo, message: unknown): unknown | Promise<unknown>;
  /**
   * Should `recipient` get `broadcast`? Runs on the recipient's host for every recipient of every
   * broadcast (live and replayed), so keep it cheap and synchronous. Default: the built-in
   * roomMatchKey/roomMatchValue filter.
   */
  shouldDeliver(recipient: RecipientInfo, broadcast: BroadcastInfo): boolean;
  /** A member joined `member.room` (after its join notice was numbered). */
  onJoin(member: MemberInfo): void | Promise<void>;
  /** A member left (cleanly, abruptly, or found gone after a restart). */
  onLeave(member: MemberInfo): void | Promise<void>;
  /** Every broadcast after it was numbered and stored (to persist it elsewhere or forward it). */
  onBroadcast(broadcast: NumberedBroadcast): void | Promise<void>;
}
