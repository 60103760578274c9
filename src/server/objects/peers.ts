import type { HostApi, RoomApi } from "../rpc.js";

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
  /** Hex id of this object. */
  readonly selfHex: string;

  constructor(
    private readonly rooms: DurableObjectNamespace,
    private readonly selfId: DurableObjectId,
    private readonly self: RoomApi & HostApi,
  ) {
    this.selfHex = selfId.toString();
  }

  /** The object of room `name`. */
  room(name: string): RoomApi {
    let id = this.roomIds.get(name);
    if (!id) {
      id = this.rooms.idFromName(name);
      if (this.roomIds.size >= 1024) this.roomIds.clear();
      this.roomIds.set(name, id);
    }
    return id.equals(this.selfId) ? this.self : (this.rooms.get(id) as unknown as RoomApi);
  }

  /** The object whose hex id is `hexId` (a connection's host). */
  host(hexId: string): HostApi {
    return hexId === this.selfHex ? this.self : (this.rooms.get(this.rooms.idFromString(hexId)) as unknown as HostApi);
  }
}
