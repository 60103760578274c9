import {
  charLength,
  isPrivateRoom,
  makeFilter,
  ProtocolError,
  type ClientRequest,
  type MatchFilter,
  type RequestOf,
  type ResumeArgs,
  type ResumePoint,
  type Verb,
  type VerbData,
} from "../../../protocol/index.js";
import type { Settings } from "../../settings.js";
import { verifyToken } from "../../tokens.js";
import type { Peers } from "../peers.js";
import type { RoomEntry } from "../../rpc.js";
import type { ChatHooks, ConnectionInfo, JoinKind } from "../../hooks.js";
import { errorField, logEvent } from "../../log.js";
import type { Connection, ConnectionState, HostedConnections } from "./hostedConnections.js";

export interface RequestContext {
  settings: Settings;
  hosted: HostedConnections;
  peers: Peers;
  hooks: ChatHooks;
}

/** The filter a connection's own params ask for (its say, join and leave). */
export function paramsFilter(connection: Connection): MatchFilter | undefined {
  return makeFilter(connection.params.get("roomMatchKey"), connection.params.get("roomMatchValue"));
}

/** A connection's state as hooks see it, before it is a hosted Connection (at connect). */
export function connectionInfo(state: ConnectionState): ConnectionInfo {
  return {
    id: state.id,
    room: state.room,
    session: state.session ?? state.id,
    params: new Map(state.params),
    attributes: new Map(state.attributes),
    grantedRooms: new Set(state.grantedRooms),
    listening: [...state.listening],
    remoteIP: state.remoteIP,
    connectedAt: state.connectedAt,
    viaGateway: state.viaGateway,
  };
}

/**
 * Runs the app's authorizeJoin: undefined when allowed, else the reason to give with
 * not_authorized. A hook that throws propagates (the caller answers it without changing anything).
 */
export async function refusalOf(authorize: () => boolean | string | Promise<boolean | string>): Promise<string | undefined> {
  const verdict = await authorize();
  if (verdict === true) return undefined;
  return typeof verdict === "string" && verdict !== "" ? verdict : "not allowed to enter this room";
}

/** The connection as its rooms record it. */
export function entryOf(connection: Connection, hostId: string): RoomEntry {
  const entry: RoomEntry = { id: connection.id, host: hostId, session: connection.session };
  const filter = paramsFilter(connection);
  if (filter) entry.filter = filter;
  return entry;
}

/**
 * A request's data whose answer must wait for `written` (a say numbered by this object's own room:
 * its seq may be shown only once it is kept). The host runs the connection's next request meanwhile.
 */
export class AnswerAfter<T> {
  constructor(
    readonly data: T,
    readonly written: Promise<void>,
  ) {}
}

type Handlers = {
  [V in Exclude<Verb, "quit" | "exit">]: (connection: Connection, request: RequestOf<V>, messageCount: number) => Promise<VerbData<V> | AnswerAfter<VerbData<V>>> | VerbData<V>;
};

/**
 * Carries out one request of a connection hosted here and returns the response's `data`.
 * Requests of one connection run one at a time, so state read before an await is still current.
 */
export class RequestHandler {
  constructor(private readonly context: RequestContext) {}

  execute(connection: Connection, request: ClientRequest, messageCount: number): Promise<unknown> | unknown {
    if (request.verb === "quit" || request.verb === "exit") {
      throw new Error("quit and exit end the connection and are handled by the host");
    }
    const handler = this.handlers[request.verb] as (c: Connection, r: ClientRequest, n: number) => unknown;
    return handler(connection, request, messageCount);
  }

  private readonly handlers: Handlers = {
    say: async (connection, request) => {
      const room = connection.room;
      const message = await this.moderate(connection, request.message);
      const filter = makeFilter(
        request.roomMatchKey ?? connection.params.get("roomMatchKey"),
        request.roomMatchValue ?? connection.params.get("roomMatchValue"),
      );
      const sender = { id: connection.id, session: connection.session };
      // The room is this object's own: numbered now, answered once written (one commit per burst).
      const here = this.context.peers.here(room)?.sayHere(room, sender, message, filter);
      if (here) return new AnswerAfter({ room, seq: here.seq }, here.written);
      const { seq } = await this.context.peers.room(room).roomSay(room, sender, message, filter);
      return { room, seq };
    },
    roomChange: async (connection, request) => {
      const target = request.room;
      const previous = connection.room;
      if (target === previous) {
        // Already there: no notices. A resume gets what it missed before it started receiving
        // the room (a line client resuming its default room), never a second copy.
        this.adoptSession(connection, request);
        this.context.hosted.persist(connection);
        const resume = resumeOf(request);
        const room = this.context.peers.room(target);
        return { room: target, ...(await (resume ? room.roomJoin(target, this.entry(connection), resume) : room.roomPoint(target))) };
      }
      await this.authorize(connection, target, "roomChange");
      this.adoptSession(connection, request);
      // The new room is recorded first so that filters on `room` see it as soon as messages arrive.
      connection.state.room = target;
      this.context.hosted.persist(connection);
      let left: ResumePoint | undefined;
      try {
        left = await this.context.peers.room(previous).roomLeave(previous, connection.id);
        const point = await this.context.peers.room(target).roomJoin(target, this.entry(connection), resumeOf(request));
        return { room: target, ...point };
      } catch (error) {
        // A room could not be reached: go back to where the connection was, so a retry works,
        // and get what was said there meanwhile (from the point it left at).
        connection.state.room = previous;
        this.context.hosted.persist(connection);
        const back = left ? { since: left.seq, epoch: left.epoch } : undefined;
        await this.context.peers.room(previous).roomJoin(previous, this.entry(connection), back).catch(() => undefined);
        throw error;
      }
    },
    listenToRoom: async (connection, request) => {
      const { room } = request;
      await this.authorize(connection, room, "listenToRoom");
      const listening = connection.state.listening;
      if (listening.includes(room)) throw new ProtocolError("already_listening", `already listening to ${room}`);
      const max = this.context.settings.limits.maxListening;
      if (listening.length >= max) throw new ProtocolError("too_many_rooms", `listening to at most ${max} rooms`);
      if (this.adoptSession(connection, request)) {
        await this.context.peers.room(connection.room).roomUpdateMember(connection.room, connection.id, { session: connection.session });
      }
      listening.push(room);
      this.context.hosted.persist(connection);
      try {
        const point = await this.context.peers.room(room).roomListen(room, this.entry(connection), resumeOf(request));
        return { room, ...point };
      } catch (error) {
        // Not listening after all, so a retry is not refused as already_listening.
        listening.splice(listening.indexOf(room), 1);
        this.context.hosted.persist(connection);
        throw error;
      }
    },
    silenceRoom: async (connection, request) => {
      const { room } = request;
      const listening = connection.state.listening;
      const index = listening.indexOf(room);
      if (index === -1) throw new ProtocolError("not_listening", `not listening to ${room}`);
      listening.splice(index, 1);
      this.context.hosted.persist(connection);
      try {
        await this.context.peers.room(room).roomSilence(room, connection.id);
      } catch (error) {
        // The room still sends to it: still listening, so the mirror and a retry agree.
        listening.splice(index, 0, room);
        this.context.hosted.persist(connection);
        throw error;
      }
      return { room };
    },
    roomView: async (connection, request) => {
      const room = request.room ?? connection.room;
      if (room !== connection.room && !connection.state.listening.includes(room)) {
        throw new ProtocolError("not_in_room", `not in or listening to ${room}`);
      }
      const outcome = await this.context.peers.room(room).roomView(room, request.cursor);
      if (!outcome.ok) throw new ProtocolError(outcome.code, outcome.message);
      return outcome.value;
    },
    detailsView: (connection, _request, messageCount) => {
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
        session: connection.session,
      };
    },
    paramAdd: async (connection, request) => {
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
      await this.changeParams(connection, () => connection.params.set(key, value));
      return null;
    },
    paramDelete: async (connection, request) => {
      await this.changeParams(connection, () => connection.params.delete(request.key));
      return null;
    },
    paramView: (connection, request) => connection.params.get(request.key) ?? null,
    paramsView: (connection) => Object.fromEntries(connection.params),
    paramsDelete: async (connection) => {
      await this.changeParams(connection, () => connection.params.clear());
      return null;
    },
    auth: async (connection, request) => {
      const secret = this.context.settings.tokenSecret;
      if (!secret) throw new ProtocolError("invalid_token", "this server has no TOKEN_SECRET set, so it accepts no tokens");
      const grant = await verifyToken(request.token, secret);
      for (const room of grant.rooms) connection.grantedRooms.add(room);
      for (const [key, value] of Object.entries(grant.attributes)) connection.attributes.set(key, value);
      this.context.hosted.persist(connection);
      return { rooms: [...connection.grantedRooms], attributes: Object.fromEntries(connection.attributes) };
    },
    history: (connection, request) =>
      this.context.peers.room(connection.room).roomHistory(
        connection.room,
        {
          id: connection.id,
          room: connection.room,
          session: connection.session,
          params: [...connection.params],
          attributes: [...connection.attributes],
          grantedRooms: [...connection.grantedRooms],
          listening: [...connection.listening],
          remoteIP: connection.remoteIP,
          connectedAt: connection.connectedAt,
          viaGateway: connection.viaGateway,
        },
        request.limit,
      ),
  };

  /**
   * The app's moderation or enrichment (onSay): the message to broadcast (undefined keeps it as
   * sent). A ProtocolError it throws is the sender's error response; anything else is logged and
   * answered "try again", and nothing is broadcast.
   */
  private async moderate(connection: Connection, message: unknown): Promise<unknown> {
    try {
      const result = await this.context.hooks.onSay(connection, message);
      return result === undefined ? message : result;
    } catch (error) {
      if (error instanceof ProtocolError) throw error;
      logEvent("error", "error", { room: connection.room, id: connection.id, during: "hook onSay", error: errorField(error) });
      throw new ProtocolError("bad_request", "the message could not be checked: try again");
    }
  }

  /**
   * Changes params; when that changes the filter the connection's notices follow, its room learns
   * it before the response, so a leave announced by the room (after a restart) follows it too.
   */
  private async changeParams(connection: Connection, change: () => void): Promise<void> {
    const before = paramsFilter(connection);
    change();
    this.context.hosted.persist(connection);
    const after = paramsFilter(connection);
    if (before?.key === after?.key && before?.value === after?.value) return;
    await this.context.peers.room(connection.room).roomUpdateMember(connection.room, connection.id, { filter: after ?? null });
  }

  /** A resume that names a session: the connection takes it (it only decides what this connection receives). Returns whether it changed. */
  private adoptSession(connection: Connection, resume: ResumeArgs): boolean {
    if (resume.session === undefined || resume.session === connection.session) return false;
    connection.state.session = resume.session;
    return true;
  }

  private entry(connection: Connection): RoomEntry {
    return entryOf(connection, this.context.peers.selfHex);
  }

  /** The built-in private-room rule, then the app's authorizeJoin. */
  private async authorize(connection: Connection, room: string, kind: JoinKind): Promise<void> {
    if (isPrivateRoom(room) && !connection.grantedRooms.has(room)) {
      throw new ProtocolError("not_authorized", `${room} is a private room: present a token that names it`);
    }
    const refused = await refusalOf(() => this.context.hooks.authorizeJoin(connection, room, kind));
    if (refused !== undefined) throw new ProtocolError("not_authorized", refused);
  }
}

function resumeOf(request: ResumeArgs): ResumeArgs | undefined {
  const resume: ResumeArgs = {};
  if (request.since !== undefined) resume.since = request.since;
  if (request.epoch !== undefined) resume.epoch = request.epoch;
  if (request.session !== undefined) resume.session = request.session;
  return Object.keys(resume).length > 0 ? resume : undefined;
}
