import { isUtf8 } from "node:buffer";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { GATEWAY_CONTROL, GOODBYE_REASONS, goodbye, PING } from "../protocol/index.js";
import { clientAddress, type GatewayConfig } from "./config.js";
import { LineSplitter } from "./lineSplitter.js";
import { TelnetFilter } from "./telnet.js";
import { goodbyeReason, isGoodbye, isPong, isResponse, openUpstream } from "./upstream.js";

const NEWLINE = Buffer.from("\n");
const OVERSIZE_FRAME = Buffer.from([GATEWAY_CONTROL.oversizeLine]);
const INVALID_LINE_FRAME = Buffer.from([GATEWAY_CONTROL.invalidLine]);
const NOT_BLANK = /\S/;

/** Goodbye reasons the gateway itself gives (the room object gives quit/exit). */
export const GATEWAY_GOODBYE_REASONS = {
  ...GOODBYE_REASONS,
  upstreamUnavailable: "server unavailable",
  upstreamLost: "connection to server lost",
} as const;

/**
 * One TCP client and its own upstream WebSocket: lines in, one text frame each; frames out, one
 * line each. Holds no room state. Ends when either side goes.
 */
export class ClientSession {
  /** ip:port, for the log. */
  readonly address: string;
  /** Resolves once the TCP socket is closed and the upstream is closing. */
  readonly closed: Promise<void>;

  private readonly ws: WebSocket;
  private readonly splitter: LineSplitter;
  private readonly telnet = new TelnetFilter();
  private queued: (string | Buffer)[] = [];
  private queuedBytes = 0;
  /** Reading from the client is paused while the upstream has not taken what it sent. */
  private inputPaused = false;
  /** Requests forwarded that have not been answered yet (a response, or pong for ping). */
  private outstanding = 0;
  /** Who sent each ping still waiting for its pong (pongs come back in order): true = the client. */
  private pingsFromClient: boolean[] = [];
  private lastSentAt = Date.now();
  private upstreamOpened = false;
  private clientEnded = false;
  private inputClosed = false;
  private goodbyeSent = false;
  private finished = false;
  private why = "client closed";
  private stallTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private resolveClosed!: () => void;

  constructor(
    private readonly socket: Socket,
    private readonly config: GatewayConfig,
  ) {
    const ip = clientAddress(socket.remoteAddress);
    this.address = ip.includes(":") ? `[${ip}]:${socket.remotePort}` : `${ip}:${socket.remotePort}`;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.splitter = new LineSplitter(config.maxMessageBytes, {
      line: (bytes) => this.onLine(bytes),
      oversize: () => this.forward(OVERSIZE_FRAME),
    });
    config.log(`connect ${this.address}`);

    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000); // notice clients that vanish without a FIN
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("end", () => this.onClientEnd());
    socket.on("drain", () => this.onDrain());
    socket.on("error", (error) => {
      this.why = `client error: ${error.message}`;
    });
    socket.on("close", () => this.onSocketClose());

    this.ws = openUpstream(config.upstreamConnectUrl, ip, config.gatewaySecret, config.connectTimeoutMs);
    this.ws.on("open", () => this.onUpstreamOpen());
    this.ws.on("message", (data, isBinary) => this.onUpstreamMessage(data as Buffer, isBinary));
    this.ws.on("close", () => this.onUpstreamClose());
    this.ws.on("error", (error) => {
      if (!this.finished) config.log(`upstream error for ${this.address}: ${error.message}`);
    });
  }

  /** Gateway shutdown: goodbye, then close both sides. */
  shutdown(reason: string = GOODBYE_REASONS.shuttingDown): Promise<void> {
    this.finish(reason, reason, 1001);
    return this.closed;
  }

  // ---- client → upstream ------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.inputClosed || this.finished) return;
    const { data, interrupt } = this.telnet.process(chunk);
    if (data.length > 0) this.splitter.push(data);
    if (interrupt && !this.inputClosed) {
      // Ctrl-C / Ctrl-D: drop what was being typed and leave like `quit`.
      this.splitter.reset();
      this.forward("quit");
      this.inputClosed = true;
    }
  }

  private onLine(bytes: Buffer): void {
    if (!isUtf8(bytes)) {
      // Not text: the room answers the control frame with bad_request, in request order.
      this.forward(INVALID_LINE_FRAME);
      return;
    }
    const text = bytes.toString("utf8");
    if (!NOT_BLANK.test(text)) return;
    if (text === PING) this.pingsFromClient.push(true);
    this.forward(text);
  }

  /** Called now and then by the gateway: keeps a quiet client's upstream from hitting the idle timeout. */
  keepAlive(now: number): void {
    if (this.finished || this.ws.readyState !== WebSocket.OPEN || now - this.lastSentAt < this.config.keepaliveMs) return;
    this.pingsFromClient.push(false);
    this.lastSentAt = now;
    this.ws.send(PING);
  }

  private forward(frame: string | Buffer): void {
    if (this.finished) return;
    switch (this.ws.readyState) {
      case WebSocket.OPEN:
        this.outstanding++;
        this.lastSentAt = Date.now();
        this.ws.send(frame, this.onSent);
        break;
      case WebSocket.CONNECTING:
        this.outstanding++;
        this.queued.push(frame);
        this.queuedBytes += typeof frame === "string" ? Buffer.byteLength(frame) : frame.length;
        break;
      default:
        return; // the upstream is going; its close ends the session
    }
    // A client that types faster than the upstream takes it (or before it is even open) is read no
    // further until it catches up, so the gateway never holds more than about maxBufferBytes of it.
    if (!this.inputPaused && this.queuedBytes + this.ws.bufferedAmount > this.config.maxBufferBytes) {
      this.inputPaused = true;
      this.socket.pause();
    }
  }

  private readonly onSent = (): void => {
    if (this.inputPaused && !this.finished && this.queuedBytes + this.ws.bufferedAmount <= this.config.maxBufferBytes / 2) {
      this.inputPaused = false;
      this.socket.resume();
    }
  };

  /** FIN from the client: the last line still counts, and the session ends once everything is answered. */
  private onClientEnd(): void {
    this.clientEnded = true;
    if (!this.inputClosed) this.splitter.end();
    this.inputClosed = true;
    this.finishIfAnswered();
  }

  private finishIfAnswered(): void {
    if (this.clientEnded && this.outstanding <= 0 && !this.finished) {
      this.why = "client closed";
      this.finish(undefined, this.why, 1000);
    }
  }

  // ---- upstream → client ------------------------------------------------------------------

  private onUpstreamOpen(): void {
    this.upstreamOpened = true;
    const queued = this.queued;
    this.queued = [];
    this.queuedBytes = 0;
    this.lastSentAt = Date.now();
    for (const frame of queued) this.ws.send(frame, this.onSent);
    this.onSent();
  }

  private onUpstreamMessage(frame: Buffer, isBinary: boolean): void {
    if (this.finished || isBinary) return;
    if (isPong(frame)) {
      // The gateway's own keep-alive pings are answered too; only the client's pongs are its business.
      if (this.pingsFromClient.shift() === false) return;
      this.outstanding--;
    } else if (isResponse(frame)) {
      this.outstanding--;
    }
    if (isGoodbye(frame)) {
      // A goodbye is always the server's last word: pass it on and end now rather than wait for
      // the upstream close, which the runtime may deliver late.
      this.goodbyeSent = true;
      this.write(frame);
      this.finish(undefined, goodbyeReason(frame) ?? "server said goodbye", 1000);
      return;
    }
    this.write(frame);
    if (!this.finished) this.finishIfAnswered();
  }

  private write(frame: Buffer): void {
    const fits = this.socket.write(Buffer.concat([frame, NEWLINE], frame.length + 1));
    if (this.socket.writableLength > this.config.maxBufferBytes) {
      this.tooSlow();
      return;
    }
    if (!fits && !this.ws.isPaused) {
      // Stop reading the upstream until the client catches up; the room is not slowed by it.
      this.ws.pause();
      if (this.config.maxStallMs > 0) {
        this.stallTimer = setTimeout(() => this.tooSlow(), this.config.maxStallMs);
        this.stallTimer.unref();
      }
    }
  }

  private onDrain(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    if (!this.finished && this.ws.isPaused) this.ws.resume();
  }

  private tooSlow(): void {
    if (this.finished) return;
    this.config.log(`too slow: ${this.address} (${this.socket.writableLength} bytes unread)`);
    this.finish(GOODBYE_REASONS.tooSlow, GOODBYE_REASONS.tooSlow, 1008);
  }

  private onUpstreamClose(): void {
    if (this.finished) return;
    const reason = this.upstreamOpened ? GATEWAY_GOODBYE_REASONS.upstreamLost : GATEWAY_GOODBYE_REASONS.upstreamUnavailable;
    this.finish(reason, reason, 1000);
  }

  // ---- ending -------------------------------------------------------------------------------

  /** Says goodbye (unless one was said already), ends the client and closes the upstream. */
  private finish(goodbyeReason: string | undefined, why: string, upstreamCode: number): void {
    if (this.finished) return;
    this.finished = true;
    this.why = why;
    clearTimeout(this.stallTimer);
    if (goodbyeReason !== undefined && !this.goodbyeSent && !this.socket.destroyed) {
      this.goodbyeSent = true;
      this.socket.write(`${JSON.stringify(goodbye(goodbyeReason))}\n`);
    }
    this.socket.end();
    // A client that will not read its goodbye is not waited for.
    this.graceTimer = setTimeout(() => this.socket.destroy(), this.config.closeGraceMs);
    this.graceTimer.unref();
    this.closeUpstream(upstreamCode);
  }

  private closeUpstream(code: number): void {
    const ws = this.ws;
    if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
    } else if (ws.readyState === WebSocket.OPEN) {
      ws.resume(); // read the close handshake even if the client was slow
      ws.close(code);
      setTimeout(() => ws.terminate(), 2_000).unref();
    }
  }

  private onSocketClose(): void {
    clearTimeout(this.graceTimer);
    if (!this.finished) {
      // The client is gone: leave the room now.
      this.finished = true;
      clearTimeout(this.stallTimer);
      this.closeUpstream(1000);
    }
    this.config.log(`disconnect ${this.address} (${this.why})`);
    this.resolveClosed();
  }
}
