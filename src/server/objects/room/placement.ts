import { hostName } from "../../ids.js";
import type { Settings } from "../../settings.js";

/**
 * Where a room's new connections are hosted. A room is not limited to one object's sockets: its
 * connections are spread over host objects `<room>` (the room's own, index 0) and
 * `<room>#host-<k>` (k ≥ 1; `#` is no room-name character, so these never collide with rooms). The
 * room chooses, since it knows how many of its receivers each host has: the least loaded of the
 * hosts in use, where the hosts in use grow with the room — enough for every host to stay under
 * HOST_CAPACITY, at least DEFAULT_ROOM_HOSTS for the default room (every gateway client starts
 * there, and each host runs the requests of its own connections), at most MAX_HOSTS_PER_ROOM.
 */

/** How long a placement counts before its join arrives (a connect that failed is forgotten after it). */
const PENDING_MS = 10_000;

export class Placement {
  private readonly hexes: string[] = [];
  /** Placements whose join has not arrived yet, per host hex id: their times. */
  private readonly pending = new Map<string, number[]>();

  constructor(
    private readonly rooms: DurableObjectNamespace,
    private readonly room: string,
    private readonly settings: Settings,
  ) {}

  /** Hex id of host `index` of this room. */
  hexOf(index: number): string {
    let hex = this.hexes[index];
    if (hex === undefined) {
      hex = this.rooms.idFromName(hostName(this.room, index)).toString();
      this.hexes[index] = hex;
    }
    return hex;
  }

  /**
   * The host index for a new connection. `receiversOn(hex)` is how many of the room's receivers
   * that host has now; `total` is all of them.
   */
  choose(receiversOn: (hex: string) => number, total: number, now = Date.now()): number {
    const { hostCapacity, maxHostsPerRoom, defaultRoom, defaultRoomHosts } = this.settings;
    const minHosts = this.room === defaultRoom ? defaultRoomHosts : 1;
    const pendingTotal = [...this.pending.values()].reduce((sum, times) => sum + this.live(times, now), 0);
    let inUse = Math.min(maxHostsPerRoom, Math.max(minHosts, Math.ceil((total + pendingTotal + 1) / hostCapacity)));
    let best = 0;
    let bestLoad = Infinity;
    for (let index = 0; index < inUse; index++) {
      const hex = this.hexOf(index);
      const load = receiversOn(hex) + this.live(this.pending.get(hex) ?? [], now);
      if (load < bestLoad) {
        best = index;
        bestLoad = load;
      }
    }
    // Every host in use is full (the room's receivers are spread unevenly): open one more.
    if (bestLoad >= hostCapacity && inUse < maxHostsPerRoom) best = inUse++;
    const hex = this.hexOf(best);
    const times = this.pending.get(hex) ?? [];
    times.push(now);
    this.pending.set(hex, times);
    return best;
  }

  /** A connection placed on `hex` joined (or listened): it counts as a receiver now. */
  arrived(hex: string): void {
    const times = this.pending.get(hex);
    if (!times) return;
    times.shift();
    if (times.length === 0) this.pending.delete(hex);
  }

  private live(times: number[], now: number): number {
    while (times.length > 0 && now - times[0] > PENDING_MS) times.shift();
    return times.length;
  }
}
