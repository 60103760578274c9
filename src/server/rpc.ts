import type {
  ErrorCode,
  HistoryData,
  MatchFilter,
  ResumeArgs,
  ResumePoint,
  RoomViewData,
} from "../protocol/index.js";

/**
 * What one room object asks of another over RPC, and what the Worker asks of them. All values are
 * structured-clonable. Errors that a caller must tell apart travel as values (`Outcome`), because
 * RPC keeps only an Error's message, not its `code`.
 */

/** A connection as a room records it. */
export interface RoomEntry {
  id: string;
  /** Hex id of the object whose socket this is. */
  host: string;
  /** The connection's session: what it (or an earlier connection of the session) sent never comes back to it. */
  session: string;
  /**
   * The filter of the connection's own params (roomMatchKey/roomMatchValue) that its join and
   * leave notices follow. The room keeps it, so that a leave announced by the room itself (the host
   * lost the socket in a restart) follows the same rule as a clean close.
   */
  filter?: MatchFilter;
}

/** Who sent a message: a connection and its session. */
export interface Sender {
  id: string;
  session: string;
}

/**
 * What a room sends a host, in order, over its outbox (one call in flight per host, batches of
 * these). The host delivers a broadcast to the connections it knows receive the room; it learns
 * who they are from the room's own `receivers` messages, sent in the same ordered stream as the
 * broadcasts, so a connection gets exactly the broadcasts numbered after the room added it and
 * before the room removed it. A broadcast therefore costs the room O(hosts), not O(members).
 */
export type Delivery = RoomBroadcast | ToConnections | ReceiversChange;

interface Addressed {
  room: string;
  /** The broadcast's seq; 0 for a frame that is no numbered broadcast (gap, presence). */
  seq: number;
  payload: string;
  filter?: MatchFilter;
  /** The sender or notice subject (connection id), who never receives it. */
  except?: string;
  /** The sender's session: no connection of that session receives it. */
  origin?: string;
}

/** To every connection hosted here that receives `room` (member or listener). */
export interface RoomBroadcast extends Addressed {
  kind: "broadcast";
}

/** To these connections only (a replay, a gap notice). */
export interface ToConnections extends Addressed {
  kind: "to";
  ids: string[];
}

/** The room started or stopped sending its broadcasts to these connections. */
export interface ReceiversChange {
  kind: "receivers";
  room: string;
  add?: string[];
  remove?: string[];
}

export interface DeliveryReport {
  /** How many sockets each delivery of the batch was sent to, in batch order (0 for receivers changes). */
  delivered: number[];
  /** Ids the host no longer has (named in a receivers change or a `to` delivery): the room forgets them. */
  gone: string[];
}

/** What a room needs to know to filter its history for one recipient (as shouldDeliver sees it). */
export interface Recipient {
  id: string;
  room: string;
  session: string;
  params: [string, string][];
  attributes: [string, string][];
  grantedRooms: string[];
  listening: string[];
  remoteIP: string;
  connectedAt: number;
  viaGateway: boolean;
}

export interface RoomCounts {
  room: string;
  membersCount: number;
  listenersCount: number;
}

export interface BroadcastResult {
  room: string;
  seq: number;
  delivered: number;
}

/** A result, or the protocol error that refused it (carried as a value across RPC). */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: ErrorCode; message: string };

/** The room-side methods, called on the local object directly or on a stub over RPC. */
export interface RoomApi {
  /** Adds a member; replays per `resume` first; announces the join. Returns the point right after. */
  roomJoin(room: string, entry: RoomEntry, resume?: ResumeArgs): Promise<ResumePoint>;
  /** Removes a member and announces the leave with the filter the room keeps for it; returns the room's point after it. */
  roomLeave(room: string, id: string): Promise<ResumePoint>;
  roomListen(room: string, entry: RoomEntry, resume?: ResumeArgs): Promise<ResumePoint>;
  roomSilence(room: string, id: string): Promise<void>;
  /** A member's params changed: the filter its next notice follows, and its session. */
  roomUpdateMember(room: string, id: string, update: { filter?: MatchFilter | null; session?: string }): Promise<void>;
  roomSay(room: string, sender: Sender, message: unknown, filter?: MatchFilter): Promise<{ seq: number }>;
  /** A server broadcast. The same `idempotencyKey` within the window answers the first result and sends nothing. */
  roomBroadcast(room: string, message: unknown, filter?: MatchFilter, idempotencyKey?: string): Promise<BroadcastResult>;
  roomView(room: string, cursor?: string): Promise<Outcome<RoomViewData>>;
  roomHistory(room: string, recipient: Recipient, limit?: number): Promise<HistoryData>;
  roomCounts(room: string): Promise<RoomCounts>;
  /** The room's current resume point. */
  roomPoint(room: string): Promise<ResumePoint>;
}

/** The host-side methods: the sockets an object accepted. */
export interface HostApi {
  hostDeliver(deliveries: Delivery[]): Promise<DeliveryReport>;
  hostGone(ids: string[]): Promise<string[]>;
  /** False when the connection is gone. The same `idempotencyKey` within the window sends nothing again. */
  hostSendDirect(id: string, message: unknown, type?: string, idempotencyKey?: string): Promise<boolean>;
  /** The attributes after the patch; an error when it would hold more than 4 × MAX_PARAMS; null when the connection is gone. */
  hostSetAttributes(id: string, patch: Record<string, string | null>): Promise<Outcome<Record<string, string>> | null>;
}
