import type { Delivery, DeliveryReport, HostApi } from "./rpc.js";

interface Pending {
  delivery: Delivery;
  settle: (delivered: number) => void;
}

/**
 * Delivers a room's broadcasts to sockets hosted by other objects. Concurrent RPCs are not
 * guaranteed to arrive in the order they were made, so each host gets at most one call in flight,
 * carrying everything queued for it meanwhile: every recipient sees the room's seq order, and a
 * burst of broadcasts costs one RPC per host instead of one per message.
 */
export class Outbox {
  private readonly queues = new Map<string, Pending[]>();
  private readonly busy = new Set<string>();

  constructor(
    private readonly hostStub: (host: string) => HostApi,
    private readonly onGone: (host: string, ids: string[]) => void,
  ) {}

  /** Resolves with how many sockets the host sent it to (0 if the host could not be reached). */
  send(host: string, delivery: Delivery): Promise<number> {
    return new Promise((settle) => {
      const queue = this.queues.get(host);
      if (queue) queue.push({ delivery, settle });
      else this.queues.set(host, [{ delivery, settle }]);
      if (!this.busy.has(host)) void this.drain(host);
    });
  }

  private async drain(host: string): Promise<void> {
    this.busy.add(host);
    try {
      for (let batch = this.take(host); batch.length > 0; batch = this.take(host)) {
        let report: DeliveryReport | undefined;
        try {
          report = await this.hostStub(host).hostDeliver(batch.map((pending) => pending.delivery));
        } catch (error) {
          console.error(`delivery to host ${host.slice(0, 8)} failed:`, error);
        }
        batch.forEach((pending, index) => pending.settle(report?.delivered[index] ?? 0));
        if (report && report.gone.length > 0) this.onGone(host, report.gone);
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
