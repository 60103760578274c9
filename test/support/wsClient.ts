import WebSocket from "ws";
import { Inbox, parseFrame, type Frame, type Message } from "./inbox.js";

export type { Message };

/**
 * A test client over a real socket: every frame the server sends is kept in order, and tests
 * wait for the next one that matches instead of sleeping.
 */
export class TestSocket {
  closed: { code: number; reason: string } | undefined;
  private readonly inbox = new Inbox(() => this.closed && `socket closed (${this.closed.code} ${this.closed.reason})`);

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      this.inbox.push(isBinary ? `<binary ${(data as Buffer).length}>` : parseFrame(data.toString()));
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.inbox.wake();
    });
  }

  /** Every frame received so far, in order (taken by next() or not). */
  get received(): Frame[] {
    return this.inbox.received;
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
  next(match?: (message: Frame) => boolean, timeoutMs?: number): Promise<Frame> {
    return this.inbox.next(match, timeoutMs);
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
  nothing(match?: (message: Frame) => boolean, windowMs?: number): Promise<void> {
    return this.inbox.nothing(match, windowMs);
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

}
