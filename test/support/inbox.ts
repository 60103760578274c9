export type Message = Record<string, unknown>;
export type Frame = Message | string;

/** A JSON frame or line, parsed; anything else (the `pong` keep-alive answer) stays a string. */
export function parseFrame(text: string): Frame {
  try {
    return JSON.parse(text) as Message;
  } catch {
    return text;
  }
}

/**
 * What a test client received, in order. Tests wait for the next frame that matches instead of
 * sleeping; a wait ends early, with an error, once `closedReason` says the connection is gone.
 */
export class Inbox {
  readonly received: Frame[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly closedReason: () => string | undefined) {}

  push(frame: Frame): void {
    this.received.push(frame);
    this.wake();
  }

  /** Wakes waiters when something other than a frame happened (the connection closed). */
  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** The next frame (after those already taken) that matches, waiting up to timeoutMs. */
  async next(match: (frame: Frame) => boolean = () => true, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.received.length) {
        const frame = this.received[this.cursor++];
        if (match(frame)) return frame;
      }
      const closed = this.closedReason();
      if (closed) throw new Error(`${closed} while waiting; last frames ${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; last frames ${this.tail()}`);
      await this.activity(left);
    }
  }

  /** A frame anywhere in what was received (taken or not) that matches; the cursor does not move. */
  async seen(match: (frame: Frame) => boolean, timeoutMs = 5000): Promise<Frame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find(match);
      if (hit !== undefined) return hit;
      const closed = this.closedReason();
      if (closed) throw new Error(`${closed} while waiting; last frames ${this.tail()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting; last frames ${this.tail()}`);
      await this.activity(left);
    }
  }

  /** Asserts nothing matching arrives within the window (for "nothing leaks" checks). */
  async nothing(match: (frame: Frame) => boolean = () => true, windowMs = 300): Promise<void> {
    const start = this.cursor;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const hit = this.received.slice(start).find(match);
    if (hit !== undefined) throw new Error(`expected nothing, got ${JSON.stringify(hit)}`);
  }

  /** Waits until the connection is gone, then takes every frame not taken yet. */
  async untilClosed(timeoutMs = 5000): Promise<Frame[]> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closedReason()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`connection not closed; last frames ${this.tail()}`);
      await this.activity(left);
    }
    const rest = this.received.slice(this.cursor);
    this.cursor = this.received.length;
    return rest;
  }

  private activity(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private tail(): string {
    return JSON.stringify(this.received.slice(-5));
  }
}
