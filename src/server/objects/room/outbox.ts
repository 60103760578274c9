import { errorField, logEvent } from "../../log.js";
import type { Delivery, DeliveryReport, HostApi } from "../../rpc.js";

interface Pending {
  delivery: Delivery;
  settle: (delivered: number) => void;
}

/**
 * Delivers a room's broadcasts to the hosts of its recipients, this object included. Each host
 * gets at most one call in flight, carrying everything queued for it meanwhile, and a queue is
 * first sent from the next macrotask:
 * - concurrent RPCs are not guaranteed to arrive in the order they were made, so one call at a
 *   time is what makes every recipient see the room's seq order;
 * - every send waits for the storage writes before it (the output gate) and each broadcast is a
 *   commit, so a burst handed over together shares commits (measured: +30–50% fan-out), and costs
 *   one RPC per host instead of one per message.
 */
export class Outbox {
  private readonly queues = new Map<string, Pending[]>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly hostOf: (host: string) => HostApi,
    private readonly onGone: (ids: string[]) => void,
  ) {}

  /** Resolves with how many sockets the host sent it to (0 if the host could not be reached). */
  send(host: string, delivery: Delivery): Promise<number> {
    return new Promise((settle) => {
      const queue = this.queues.get(host);
      if (queue) queue.push({ delivery, settle });
      else this.queues.set(host, [{ delivery, settle }]);
      if (!this.busy.has(host)) {
        this.busy.add(host);
        setTimeout(() => void this.drain(host), 0);
      }
    });
  }

  private async drain(host: string): Promise<void> {
    try {
      for (let batch = this.take(host); batch.length > 0; batch = this.take(host)) {
        let report: DeliveryReport | undefined;
        try {
          report = await this.hostOf(host).hostDeliver(batch.map((pending) => pending.delivery));
        } catch (error) {
          logEvent("error", "error", { during: "delivery", host: host.slice(0, 16), error: errorField(error) });
        }
        batch.forEach((pending, index) => pending.settle(report?.delivered[index] ?? 0));
        if (report && report.gone.length > 0) this.onGone(report.gone);
      }
    } finally {
      this.busy.delete(host);
    }
  }

  private take(host: string): Pending[] {
    const queue = this.queues.get(host) ?? [];
    this.queues.delete(host);
    return queue;
  }
}
