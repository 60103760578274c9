import { errorField, logEvent } from "../../log.js";
import type { Delivery, DeliveryReport, HostApi } from "../../rpc.js";

interface Pending {
  delivery: Delivery;
  /** Told how many sockets the host sent it to; only for deliveries whose count someone reads. */
  settle?: (delivered: number) => void;
}

/**
 * Delivers a room's broadcasts to the hosts of its recipients, this object included. Each host
 * gets at most one call in flight, carrying everything queued for it meanwhile, and a queue is
 * first sent from the next macrotask:
 * - concurrent RPCs are not guaranteed to arrive in the order they were made, so one call at a
 *   time is what makes every recipient see the room's seq order;
 * - a burst handed over together costs one RPC per host instead of one per message, and each
 *   socket gets its frames in one go (measured: sending from the next macrotask rather than at once
 *   halves the CPU per delivery of a sustained fan-out);
 * - `beforeSend` runs first: the room writes the burst's history there, so every send of the batch
 *   waits for that commit (the output gate) and nobody sees a broadcast a crash could take back.
 */
export class Outbox {
  private readonly queues = new Map<string, Pending[]>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly hostOf: (host: string) => HostApi,
    private readonly onGone: (ids: string[]) => void,
    /** Runs before any batch leaves (the room writes its pending history here, so the output gate covers every send). */
    private readonly beforeSend: () => void = () => {},
  ) {}

  /** Queues a delivery for `host` (most broadcasts: nobody reads how many sockets got them). */
  send(host: string, delivery: Delivery): void {
    this.enqueue(host, { delivery });
  }

  /** Resolves with how many sockets the host sent it to (0 if the host could not be reached). */
  sendCounted(host: string, delivery: Delivery): Promise<number> {
    return new Promise((settle) => this.enqueue(host, { delivery, settle }));
  }

  private enqueue(host: string, pending: Pending): void {
    const queue = this.queues.get(host);
    if (queue) queue.push(pending);
    else this.queues.set(host, [pending]);
    if (!this.busy.has(host)) {
      this.busy.add(host);
      setTimeout(() => void this.drain(host), 0);
    }
  }

  private async drain(host: string): Promise<void> {
    try {
      for (let batch = this.take(host); batch.length > 0; batch = this.take(host)) {
        let report: DeliveryReport | undefined;
        try {
          this.beforeSend();
          report = await this.hostOf(host).hostDeliver(batch.map((pending) => pending.delivery));
        } catch (error) {
          logEvent("error", "error", { during: "delivery", host: host.slice(0, 16), error: errorField(error) });
        }
        batch.forEach((pending, index) => pending.settle?.(report?.delivered[index] ?? 0));
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
