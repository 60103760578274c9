import type { ErrorResponse, OkResponse } from "../protocol/index.js";
import { EdgechatError } from "./errors.js";

interface Pending {
  resolve(response: OkResponse): void;
  reject(error: EdgechatError): void;
  timer: ReturnType<typeof setTimeout>;
}

/** Requests waiting for their response, by requestId. */
export class PendingRequests {
  private waiting = new Map<string, Pending>();
  private counter = 0;

  constructor(private readonly timeoutMs: number) {}

  nextId(): string {
    this.counter += 1;
    return `r${this.counter}`;
  }

  has(requestId: string): boolean {
    return this.waiting.has(requestId);
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Registers a request; the promise settles with its response, a timeout, or `failAll`. */
  add(requestId: string): Promise<OkResponse> {
    return new Promise<OkResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(requestId);
        reject(new EdgechatError("timeout", `no response within ${this.timeoutMs} ms`, { requestId }));
      }, this.timeoutMs);
      this.waiting.set(requestId, { resolve, reject, timer });
    });
  }

  /** Settles the request a response answers; false if nothing was waiting for it. */
  settle(response: OkResponse | ErrorResponse): boolean {
    if (typeof response.requestId !== "string") return false;
    const pending = this.waiting.get(response.requestId);
    if (!pending) return false;
    this.waiting.delete(response.requestId);
    clearTimeout(pending.timer);
    if (response.status === "OK") pending.resolve(response);
    else {
      pending.reject(
        new EdgechatError(response.code, response.error, {
          requestId: response.requestId,
          messageCount: response.messageCount,
        }),
      );
    }
    return true;
  }

  /** Rejects the requests in `ids` (all when absent) with `code`. */
  failAll(code: "disconnected" | "closed", message: string, ids?: Iterable<string>): void {
    for (const requestId of ids ?? [...this.waiting.keys()]) {
      const pending = this.waiting.get(requestId);
      if (!pending) continue;
      this.waiting.delete(requestId);
      clearTimeout(pending.timer);
      pending.reject(new EdgechatError(code, message, { requestId }));
    }
  }
}
