import type { MatchFilter } from "../../protocol/index.js";
import type { HostApi, RoomApi, Sender } from "../rpc.js";

/**
 * What only the room role of the same object offers (no RPC can carry it): a say numbered at once,
 * with a promise that settles once it is written. The host answers the say after `written`, but
 * runs the connection's next request before then, so a burst of says shares one commit.
 */
export interface LocalRoom {
  sayHere(room: string, sender: Sender, message: unknown, filter?: MatchFilter): { seq: number; written: Promise<void> };
}

/**
 * The one place that decides whether a peer is this object or another one reached over RPC.
 * A room's own sockets are hosted by the room's object, and a connection's requests often go to
 * the room of the object hosting it: those calls stay in-process (no RPC, no serialization).
 */
export class Peers {
  /**
   * Ids of the rooms this object talks to: hashing a name costs more than a lookup. Stubs are not
   * kept, since a stub can stay broken after an error; a fresh one is cheap.
   */
  private readonly roomIds = new Map<string, DurableObjectId>();
  /** Ids of the hosts this room delivers to, by hex id (a big room calls each of them per burst). */
  private readonly hostIds = new Map<string, DurableObjectId>();
  /** Hex id of this object. */
  readonly selfHex: string;
  /** This object's room role, for in-process calls (set once the object has built it). */
  private localRoom: LocalRoom | undefined;

  constructor(
    private readonly rooms: DurableObjectNamespace,
    private readonly selfId: DurableObjectId,
    private readonly self: RoomApi & HostApi,
  ) {
    this.selfHex = selfId.toString();
  }

  /** The object of room `name`. */
  room(name: string): RoomApi {
    const id = this.idOf(name);
    return id.equals(this.selfId) ? this.self : (this.rooms.get(id) as unknown as RoomApi);
  }

  /** Makes `room` (this object's room role) reachable through `here`. */
  serveLocally(room: LocalRoom): void {
    this.localRoom = room;
  }

  /** This object's room role when `name` is this object's room, else undefined (the room is elsewhere). */
  here(name: string): LocalRoom | undefined {
    return this.localRoom && this.idOf(name).equals(this.selfId) ? this.localRoom : undefined;
  }

  private idOf(name: string): DurableObjectId {
    let id = this.roomIds.get(name);
    if (!id) {
      id = this.rooms.idFromName(name);
      if (this.roomIds.size >= 1024) this.roomIds.clear();
      this.roomIds.set(name, id);
    }
    return id;
  }

  /** The object whose hex id is `hexId` (a connection's host). */
  host(hexId: string): HostApi {
    if (hexId === this.selfHex) return this.self;
    let id = this.hostIds.get(hexId);
    if (!id) {
      id = this.rooms.idFromString(hexId);
      if (this.hostIds.size >= 1024) this.hostIds.clear();
      this.hostIds.set(hexId, id);
    }
    return this.rooms.get(id) as unknown as HostApi;
  }
}
