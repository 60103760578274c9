import {
  charLength,
  isPrivateRoom,
  makeFilter,
  ProtocolError,
  type ClientRequest,
  type MatchFilter,
} from "../protocol/index.js";
import type { Settings } from "../worker/env.js";
import { verifyToken } from "../worker/tokens.js";
import type { Connection, HostedConnections } from "./hostedConnections.js";
import type { RoomApi } from "./rpc.js";

export interface RequestContext {
  settings: Settings;
  /** Hex id of this object, the host of the connection's socket. */
  hostId: string;
  hosted: HostedConnections;
  room(name: string): RoomApi;
}

type Verb = ClientRequest["verb"];
type RequestOf<V extends Verb> = Extract<ClientRequest, { verb: V }>;

/** The filter a connection's own params ask for (used for its say, join and leave). */
export function paramsFilter(connection: Connection): MatchFilter | undefined {
  return makeFilter(connection.params.get("roomMatchKey"), connection.params.get("roomMatchValue"));
}

/**
 * Carries out one request of a connection hosted here and returns the response's `data`.
 * Requests of one connection run one at a time, so state read before an await is still current.
 */
export class RequestHandler {
  constructor(private readonly context: RequestContext) {}

  async execute(connection: Connection, request: ClientRequest, messageCount: number): Promise<unknown> {
    switch (request.verb) {
      case "say":
        return this.say(connection, request);
      case "roomChange":
        return this.roomChange(connection, request);
      case "listenToRoom":
        return this.listenToRoom(connection, request);
      case "silenceRoom":
        return this.silenceRoom(connection, request);
      case "roomView":
        return this.roomView(connection, request);
      case "detailsView":
        return this.details(connection, messageCount);
      case "paramAdd":
        return this.paramAdd(connection, request);
      case "paramDelete":
        connection.params.delete(request.key);
        this.context.hosted.persist(connection);
        return null;
      case "paramView":
        return connection.params.get(request.key) ?? null;
      case "paramsView":
        return Object.fromEntries(connection.params);
      case "paramsDelete":
        connection.params.clear();
        this.context.hosted.persist(connection);
        return null;
      case "auth":
        return this.auth(connection, request);
      case "history":
        return this.context.room(connection.room).roomHistory(
          connection.room,
          { id: connection.id, room: connection.room, attributes: [...connection.attributes] },
          request.limit,
        );
      case "quit":
      case "exit":
        throw new Error("quit and exit end the connection and are handled by the room object");
    }
  }

  private async say(connection: Connection, request: RequestOf<"say">): Promise<unknown> {
    const room = connection.room;
    const filter = makeFilter(
      request.roomMatchKey ?? connection.params.get("roomMatchKey"),
      request.roomMatchValue ?? connection.params.get("roomMatchValue"),
    );
    const { seq } = await this.context.room(room).roomSay(room, connection.id, request.message, filter);
    return { room, seq };
  }

  private async roomChange(connection: Connection, request: { room: string; since?: number }): Promise<unknown> {
    const target = request.room;
    const previous = connection.room;
    const self = { id: connection.id, host: this.context.hostId };
    // Already there: no notices, and nothing to replay (it has been receiving the room live).
    if (target === previous) return { room: target };
    this.authorize(connection, target);
    const filter = paramsFilter(connection);
    // The new room is recorded first so that filters on `room` see it as soon as messages arrive.
    connection.state.room = target;
    this.context.hosted.persist(connection);
    await this.context.room(previous).roomLeave(previous, connection.id, filter);
    await this.context.room(target).roomJoin(target, self, filter, request.since);
    return { room: target };
  }

  private async listenToRoom(connection: Connection, request: { room: string; since?: number }): Promise<unknown> {
    const { room } = request;
    this.authorize(connection, room);
    const listening = connection.state.listening;
    if (listening.includes(room)) throw new ProtocolError("already_listening", `already listening to ${room}`);
    const max = this.context.settings.limits.maxListening;
    if (listening.length >= max) throw new ProtocolError("too_many_rooms", `listening to at most ${max} rooms`);
    listening.push(room);
    this.context.hosted.persist(connection);
    await this.context.room(room).roomListen(room, { id: connection.id, host: this.context.hostId }, request.since);
    return { room };
  }

  private async silenceRoom(connection: Connection, request: { room: string }): Promise<unknown> {
    const { room } = request;
    const listening = connection.state.listening;
    const index = listening.indexOf(room);
    if (index === -1) throw new ProtocolError("not_listening", `not listening to ${room}`);
    listening.splice(index, 1);
    this.context.hosted.persist(connection);
    await this.context.room(room).roomSilence(room, connection.id);
    return { room };
  }

  private async roomView(connection: Connection, request: RequestOf<"roomView">): Promise<unknown> {
    const room = request.room ?? connection.room;
    if (room !== connection.room && !connection.state.listening.includes(room)) {
      throw new ProtocolError("not_in_room", `not in or listening to ${room}`);
    }
    return this.context.room(room).roomView(room, request.cursor);
  }

  private details(connection: Connection, messageCount: number): unknown {
    const { state } = connection;
    return {
      id: state.id,
      room: state.room,
      listening: [...state.listening],
      params: Object.fromEntries(connection.params),
      attributes: Object.fromEntries(connection.attributes),
      connectedAt: state.connectedAt,
      remoteIP: state.remoteIP,
      messageCount,
    };
  }

  private paramAdd(connection: Connection, request: RequestOf<"paramAdd">): null {
    const { key, value } = request;
    const limits = this.context.settings.limits;
    if (key === "") throw new ProtocolError("bad_request", "param key must not be empty");
    if (charLength(key) > limits.maxParamKeyLength) {
      throw new ProtocolError("bad_request", `param key longer than ${limits.maxParamKeyLength} characters`);
    }
    if (charLength(value) > limits.maxParamValueLength) {
      throw new ProtocolError("bad_request", `param value longer than ${limits.maxParamValueLength} characters`);
    }
    if (!connection.params.has(key) && connection.params.size >= limits.maxParams) {
      throw new ProtocolError("too_many_params", `at most ${limits.maxParams} params`);
    }
    connection.params.set(key, value);
    this.context.hosted.persist(connection);
    return null;
  }

  private async auth(connection: Connection, request: RequestOf<"auth">): Promise<unknown> {
    const secret = this.context.settings.tokenSecret;
    if (!secret) throw new ProtocolError("invalid_token", "this server has no TOKEN_SECRET set, so it accepts no tokens");
    const grant = await verifyToken(request.token, secret);
    for (const room of grant.rooms) connection.grantedRooms.add(room);
    for (const [key, value] of Object.entries(grant.attributes)) connection.attributes.set(key, value);
    this.context.hosted.persist(connection);
    return { rooms: [...connection.grantedRooms], attributes: Object.fromEntries(connection.attributes) };
  }

  private authorize(connection: Connection, room: string): void {
    if (isPrivateRoom(room) && !connection.grantedRooms.has(room)) {
      throw new ProtocolError("not_authorized", `${room} is a private room: present a token that names it`);
    }
  }
}
