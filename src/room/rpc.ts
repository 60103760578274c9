import type { MatchFilter } from "../protocol/index.js";

/** What one room object asks of another over RPC. All values are structured-clonable. */

/** A connection as a room records it: who it is and which object hosts its socket. */
export interface RoomEntry {
  id: string;
  /** Hex id of the object whose socket this is. */
  host: string;
}

/** One broadcast for the sockets of one host: the host filters with its own view of each recipient. */
export interface Delivery {
  payload: string;
  ids: string[];
  filter?: MatchFilter;
  /** The sender, who never receives its own broadcast. */
  except?: string;
}

export interface DeliveryReport {
  /** How many sockets each delivery of the batch was sent to, in batch order. */
  delivered: number[];
  /** Ids the host no longer has: the room forgets them. */
  gone: string[];
}

export interface RoomView {
  room: string;
  members: string[];
  membersCount: number;
  /** Present when more members follow: pass it back for the next page. */
  cursor?: string;
}

/** What a room needs to know to filter its history for one recipient. */
export interface Recipient {
  id: string;
  room: string;
  attributes: [string, string][];
}

export interface RoomCounts {
  room: string;
  membersCount: number;
  listenersCount: number;
}

export interface HistoryPage {
  room: string;
  messages: unknown[];
}

export interface BroadcastResult {
  room: string;
  seq: number;
  delivered: number;
}

/** The room-side methods, called on the local object directly or on a stub over RPC. */
export interface RoomApi {
  /** `since`: replay the kept broadcasts after that seq to the joiner before anything live. */
  roomJoin(room: string, entry: RoomEntry, filter?: MatchFilter, since?: number): Promise<void>;
  roomLeave(room: string, id: string, filter?: MatchFilter): Promise<void>;
  roomListen(room: string, entry: RoomEntry, since?: number): Promise<void>;
  roomSilence(room: string, id: string): Promise<void>;
  roomSay(room: string, from: string, message: unknown, filter?: MatchFilter): Promise<{ seq: number }>;
  roomBroadcast(room: string, message: unknown, filter?: MatchFilter): Promise<BroadcastResult>;
  roomView(room: string, cursor?: string): Promise<RoomView>;
  roomHistory(room: string, recipient: Recipient, limit?: number): Promise<HistoryPage>;
  roomCounts(room: string): Promise<RoomCounts>;
}

/** The host-side methods: the sockets an object accepted. */
export interface HostApi {
  hostDeliver(deliveries: Delivery[]): Promise<DeliveryReport>;
  hostGone(ids: string[]): Promise<string[]>;
  hostSendDirect(id: string, message: unknown, type?: string): Promise<boolean>;
  hostSetAttributes(id: string, patch: Record<string, string | null>): Promise<Record<string, string> | null>;
}
