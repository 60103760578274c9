import {
  isValidRoomName,
  ProtocolError,
  ROOM_NAME_RULE,
  cursorArgument,
  type MatchFilter,
  type RoomViewData,
} from "../../protocol/index.js";
import { hostOfConnection } from "../ids.js";
import { directoryOf } from "../objects/ChatDirectory.js";
import { chatContext, type ChatContext, type ChatOptions } from "../options.js";
import type { BroadcastResult, HostApi, RoomApi, RoomCounts } from "../rpc.js";
import { randomHex } from "../secrets.js";
import { mintToken, type Grant } from "../tokens.js";

/** One room, as the app's own code reaches it (over RPC to the room's object). */
export interface RoomHandle {
  readonly name: string;
  /**
   * A server broadcast (from SERVER_NAME) to every member and listener, filtered like a `say` when
   * `filter` is given. With `idempotencyKey`, a repeat within IDEMPOTENCY_WINDOW_SECONDS answers
   * the first result and sends nothing. Resolves when every host has reported.
   */
  broadcast(message: unknown, options?: { filter?: MatchFilter; idempotencyKey?: string }): Promise<BroadcastResult>;
  /** One page of members (`cursor` from the previous page); throws ProtocolError bad_request for a foreign cursor. */
  status(cursor?: string): Promise<RoomViewData>;
  /** Members and listeners right now. */
  counts(): Promise<RoomCounts>;
}

/** One connection, wherever its socket is hosted. */
export interface ConnectionHandle {
  readonly id: string;
  /**
   * A direct message (spec: sendMessage), marked `"event":"direct"`. Resolves false when the
   * connection is gone. `idempotencyKey` as for broadcasts.
   */
  send(message: unknown, options?: { type?: string; idempotencyKey?: string }): Promise<boolean>;
  /**
   * Sets (string) or deletes (null) server-trusted attributes; null when the connection is gone.
   * Throws ProtocolError too_many_params when it would hold more than 4 × MAX_PARAMS attributes.
   */
  setAttributes(patch: Record<string, string | null>): Promise<Record<string, string> | null>;
}

/** The server API for the app's own code, typed; the admin HTTP API is a thin layer over it. */
export interface ChatRooms {
  room(name: string): RoomHandle;
  connection(id: string): ConnectionHandle;
  /** Rooms that have members or listeners, in name order, `pageSize` after `after`. */
  rooms(after?: string): Promise<{ rooms: RoomCounts[]; next?: string }>;
  /** A fresh private room name: `private-` + 128 random bits in hex. */
  newPrivateRoom(): string;
  /** A room token (HS256 with TOKEN_SECRET); throws when no secret is set. */
  mintToken(grant: Grant, ttlSeconds: number): Promise<{ token: string; expiresAt: number }>;
}

const DIRECTORY_PAGE = 100;

/**
 * The typed server API over RPC, for the app's own code:
 * `chatRooms(env, options).room("lobby").broadcast({ text: "deploy at noon" })`.
 * `options` is the same ChatOptions the router and the ChatRoom class get. Room names are checked
 * (ProtocolError invalid_room); everything else is as the HTTP API documents.
 */
export function chatRooms(env: object, options?: ChatOptions): ChatRooms {
  return chatRoomsOf(chatContext(env, options));
}

export function chatRoomsOf(context: ChatContext): ChatRooms {
  const roomStub = (name: string) => context.rooms.get(context.rooms.idFromName(name)) as unknown as RoomApi;
  return {
    room(name) {
      if (!isValidRoomName(name)) throw new ProtocolError("invalid_room", `invalid room name: ${ROOM_NAME_RULE}`);
      return {
        name,
        broadcast: (message, options = {}) => roomStub(name).roomBroadcast(name, message, options.filter, options.idempotencyKey),
        async status(cursor) {
          if (cursor !== undefined) cursorArgument(name, cursor);
          const outcome = await roomStub(name).roomView(name, cursor);
          if (!outcome.ok) throw new ProtocolError(outcome.code, outcome.message);
          return outcome.value;
        },
        counts: () => roomStub(name).roomCounts(name),
      };
    },
    connection(id) {
      const host = hostStub(context, id);
      return {
        id,
        send: async (message, options = {}) => (host ? host.hostSendDirect(id, message, options.type, options.idempotencyKey) : false),
        async setAttributes(patch) {
          const outcome = host ? await host.hostSetAttributes(id, patch) : null;
          if (outcome === null) return null;
          if (!outcome.ok) throw new ProtocolError(outcome.code, outcome.message);
          return outcome.value;
        },
      };
    },
    async rooms(after = "") {
      const names = await directoryOf(context.directory).list(after, DIRECTORY_PAGE);
      const counts = await Promise.all(names.map((name) => roomStub(name).roomCounts(name)));
      const page: { rooms: RoomCounts[]; next?: string } = { rooms: counts.filter((room) => room.membersCount + room.listenersCount > 0) };
      if (names.length === DIRECTORY_PAGE) page.next = names[names.length - 1];
      return page;
    },
    newPrivateRoom: () => `private-${randomHex(16)}`,
    async mintToken(grant, ttlSeconds) {
      const secret = context.settings.tokenSecret;
      if (!secret) throw new Error("edgechat: no TOKEN_SECRET (settings.tokenSecret) set, so no tokens can be minted");
      return mintToken(grant, ttlSeconds, secret);
    },
  };
}

/** The object hosting a connection's socket, from the id; undefined for anything that is not one of ours. */
function hostStub(context: ChatContext, connectionId: string): HostApi | undefined {
  const host = hostOfConnection(connectionId);
  if (!host) return undefined;
  try {
    return context.rooms.get(context.rooms.idFromString(host)) as unknown as HostApi;
  } catch {
    return undefined; // well-formed but not an id of this namespace
  }
}
