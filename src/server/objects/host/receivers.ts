import type { ConnectionState } from "./hostedConnections.js";

/**
 * Which connections hosted here receive which room's broadcasts. Rooms say so themselves, in the
 * same ordered stream as their broadcasts (`receivers` deliveries), so a connection gets exactly
 * what was numbered while the room counted it in. After a wake (the object is idle when it
 * hibernates, so no change is in flight) it is rebuilt from each connection's state: its room
 * and the rooms it listens to.
 */
export class Receivers {
  private readonly byRoom = new Map<string, Set<string>>();

  /** The ids receiving `room` (do not mutate). */
  of(room: string): ReadonlySet<string> | undefined {
    return this.byRoom.get(room);
  }

  add(room: string, id: string): void {
    let ids = this.byRoom.get(room);
    if (!ids) {
      ids = new Set();
      this.byRoom.set(room, ids);
    }
    ids.add(id);
  }

  remove(room: string, id: string): void {
    const ids = this.byRoom.get(room);
    if (!ids) return;
    ids.delete(id);
    if (ids.size === 0) this.byRoom.delete(room);
  }

  /** A connection that is gone receives nothing any more. */
  forget(state: ConnectionState): void {
    this.remove(state.room, state.id);
    for (const room of state.listening) this.remove(room, state.id);
  }

  /** What a connection receives according to its own state (for the rebuild after a wake). */
  restore(state: ConnectionState): void {
    this.add(state.room, state.id);
    for (const room of state.listening) this.add(room, state.id);
  }
}
