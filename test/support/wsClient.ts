import WebSocket from "ws";

export type Message = Record<string, unknown>;

/**
 * A test client over a real socket: every frame the server sends is kept in order, and tests
 * wait for the next one that matches instead of sleeping.
 */
export class TestSocket {
  readonly received: (Message | string)[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? `<binary ${(data as Buffer).length}>` : data.toString();
      let parsed: Message | string = text;
      try {
        parsed = JSON.parse(text) as Message;
      } catch {
        // non-JSON frames (pong) stay strings
      }
      this.received.push(parsed);
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
  }

  static open(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    const ws = new WebSocket(url, { perMessageDeflate: false, headers });
    const socket = new TestSocket(ws);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(socket));
      ws.once("error", reject);
    });
  }

  /** Opens a connection and waits for its welcome. */
  static async connect(url: string, headers: Record<string, string> = {}): Promise<{ socket: TestSocket; id: string; room: string }> {
    const socket = await TestSocket.open(url, headers);
    const welcome = (await socket.next()) as Message;
    if (typeof welcome.id !== "string") throw new Error(`expected a welcome, got ${JSON.stringify(welcome)}`);
    return { socket, id: welcome.id, room: welcome.room as string };
  }

  send(frame: string | Message): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** The next frame (after those already taken) that matches, waiting up to timeoutMs. */
  async next(match: (message: Message | string) => boolean = () => true, timeoutMs = 5000): Promise<Message | string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.received.length) {
        const message = this.received[this.cursor++];
        if (match(message)) return message;
      }
      if (this.closed) throw new Error(`socket closed (${this.closed.code} ${this.closed.reason}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a message; got ${JSON.stringify(this.received.slice(-5))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a request and returns the next response. */
  async request(frame: string | Message): Promise<Message> {
    this.send(frame);
    return (await this.next((m) => typeof m === "object" && m.context === "response")) as Message;
  }

  /** Chat messages of a room received so far and from now on. */
  async nextChat(match: (message: Message) => boolean = () => true, timeoutMs?: number): Promise<Message> {
    return (await this.next((m) => typeof m === "object" && m.context === "user" && match(m), timeoutMs)) as Message;
  }

  /** Asserts nothing matching arrives within the window (for "nothing leaks" checks). */
  async nothing(match: (message: Message | string) => boolean = () => true, windowMs = 300): Promise<void> {
    const start = this.cursor;
    await new Promise((resolve) => setTimeout(resolve, windowMs));
    const hit = this.received.slice(start).find(match);
    if (hit !== undefined) throw new Error(`expected nothing, got ${JSON.stringify(hit)}`);
  }

  waitClosed(timeoutMs = 5000): Promise<{ code: number; reason: string }> {
    if (this.closed) return Promise.resolve(this.closed);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("socket did not close")), timeoutMs);
      this.ws.once("close", (code, reason) => {
        clearTimeout(timer);
        resolve({ code, reason: reason.toString() });
      });
    });
  }

  close(): void {
    this.ws.close();
  }

  terminate(): void {
    this.ws.terminate();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
