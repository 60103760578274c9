import { isUtf8 } from "node:buffer";
import type { Socket } from "node:net";
import WebSocket from "ws";
import { decodeServerFrame, GATEWAY_CONTROL, GOODBYE_REASONS, goodbye, PING, PONG } from "../protocol/index.js";
import { AnswerQueue } from "./answerQueue.js";
import type { GatewayConfig } from "./config.js";
import { LineReader } from "./lineReader.js";
import type { GatewayLog, LogFields, LogLevel } from "./log.js";
import { openUpstream } from "./upstream.js";

const NEWLINE = Buffer.from("\n");
const PONG_FRAME = Buffer.from(PONG);
const OVERSIZE_FRAME = Buffer.from([GATEWAY_CONTROL.oversizeLine]);
const INVALID_LINE_FRAME = Buffer.from([GATEWAY_CONTROL.invalidLine]);
const MALFORMED_TELNET_FRAME = Buffer.from([GATEWAY_CONTROL.malformedTelnet]);
const NOT_BLANK = /\S/;
/** setTimeout fires at once for delays past 2^31 - 1 ms; longer waits are re-armed in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Goodbye reasons the gateway itself gives (the room object gives quit/exit/idle timeout to WebSockets). */
export const GATEWAY_GOODBYE_REASONS = {
  ...GOODBYE_REASONS,
  upstreamUnavailable: "server unavailable",
  upstreamLost: "connection to server lost",
  lineTimeout: "line timeout",
  internalError: "internal error",
} as const;

/** Why a session ended, for the log; not every reason is a goodbye the client hears. */
const CLIENT_CLOSED = "client closed";
const CLIENT_ERROR = "client error";
/** Disconnect reasons that point at a problem (logged as warn rather than info). */
const WARN_REASONS = new Set<string>([
  GATEWAY_GOODBYE_REASONS.tooSlow,
  GATEWAY_GOODBYE_REASONS.lineTimeout,
  GATEWAY_GOODBYE_REASONS.upstreamUnavailable,
  GATEWAY_GOODBYE_REASONS.upstreamLost,
  GATEWAY_GOODBYE_REASONS.internalError,
  CLIENT_ERROR,
]);

/**
 * One TCP client and its own upstream WebSocket: lines in, one text frame each; frames out, one
 * line each. Holds no room state. Ends when either side goes, when the client idles past
 * idleTimeoutSeconds, or leaves a line unfinished past lineTimeoutSeconds.
 */
export class ClientSession {
  /** ip:port, for the log. */
  readonly address: string;
  /** Resolves once the TCP socket is closed and the upstream is closing. */
  readonly closed: Promise<void>;

  private readonly ws: WebSocket;
  private readonly reader: LineReader;
  private readonly answers = new AnswerQueue();
  private readonly connectedAt = Date.now();
  private queued: (string | Buffer)[] = [];
  private queuedBytes = 0;
  /** Reading from the client is paused while the upstream has not taken what it sent. */
  private inputPaused = false;
  private lastSentAt = Date.now();
  /** When the client last sent a line that counts against the idle timeout. */
  private lastLineAt = Date.now();
  private welcomed = false;
  /** From the welcome, for the log. */
  private id: string | undefined;
  private room: string | undefined;
  private upstreamOpened = false;
  private clientEnded = false;
  private inputClosed = false;
  private goodbyeSent = false;
  private finished = false;
  private logged = false;
  private clientError: string | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private lineTimer: NodeJS.Timeout | undefined;
  private resolveClosed!: () => void;

  constructor(
    private readonly socket: Socket,
    /** The client address as the Worker should see it (clientAddress of the socket). */
    ip: string,
    private readonly config: GatewayConfig,
    private readonly log: GatewayLog,
  ) {
    this.address = ip.includes(":") ? `[${ip}]:${socket.remotePort}` : `${ip}:${socket.remotePort}`;
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.reader = new LineReader(config.maxMessageBytes, {
      line: (bytes) => this.onLine(bytes),
      oversize: () => this.request(OVERSIZE_FRAME),
      malformed: () => this.request(MALFORMED_TELNET_FRAME),
      interrupt: () => {
        // Ctrl-C / Ctrl-D: what was being typed is dropped; leave like `quit`.
        this.request("quit");
        this.inputClosed = true;
      },
    });
    log.write("info", "connect", { client: this.address });

    socket.setNoDelay(true);
    socket.setKeepAlive(true, 60_000); // notice clients that vanish without a FIN
    socket.on("data", (chunk: Buffer) => this.guard(() => this.onData(chunk)));
    socket.on("end", () => this.guard(() => this.onClientEnd()));
    socket.on("drain", () => this.guard(() => this.onDrain()));
    socket.on("error", (error) => {
      this.clientError = error.message;
    });
    socket.on("close", () => this.onSocketClose());

    this.ws = openUpstream(config.upstreamConnectUrl, ip, config.gatewaySecret, config.connectTimeoutMs);
    this.ws.on("open", () => this.guard(() => this.onUpstreamOpen()));
    this.ws.on("message", (data, isBinary) => this.guard(() => this.onUpstreamMessage(data as Buffer, isBinary)));
    this.ws.on("close", () => this.guard(() => this.onUpstreamClose()));
    this.ws.on("error", (error) => {
      if (!this.finished) this.log.write("error", "error", { ...this.who(), what: "upstream", message: error.message });
    });
    this.armIdleTimer(this.idleMs);
  }

  /** Gateway shutdown: goodbye, then close both sides. */
  shutdown(reason: string = GOODBYE_REASONS.shuttingDown): Promise<void> {
    this.finish(reason, reason, 1001);
    return this.closed;
  }

  /** Called now and then by the gateway: keeps a quiet client's upstream from hitting the Worker's idle timeout. */
  keepAlive(now: number): void {
    if (this.finished || this.ws.readyState !== WebSocket.OPEN || now - this.lastSentAt < this.config.keepaliveMs) return;
    this.lastSentAt = now;
    this.ws.send(PING); // its pong is dropped: the client never sees the gateway's own pings
  }

  /** A bug must end one session, never the whole gateway. */
  private guard(handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.log.write("error", "error", { ...this.who(), what: "internal", message: error instanceof Error ? error.message : String(error) });
      this.finish(GATEWAY_GOODBYE_REASONS.internalError, GATEWAY_GOODBYE_REASONS.internalError, 1011);
    }
  }

  // ---- client → upstream ------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.inputClosed || this.finished) return;
    const now = Date.now();
    this.reader.push(chunk, now);
    const started = this.reader.startedAt;
    if (started !== undefined && this.lineTimer === undefined && this.lineMs > 0) this.armLineTimer(this.lineMs - (now - started));
  }

  private onLine(bytes: Buffer): void {
    if (!isUtf8(bytes)) {
      // Not text: the room answers the control frame with bad_request, in request order.
      this.request(INVALID_LINE_FRAME);
      return;
    }
    const text = bytes.toString("utf8");
    if (!NOT_BLANK.test(text)) return; // blank lines are no request, and do not count as activity
    if (text === PING) this.onPing();
    else this.request(text);
  }

  /** The gateway answers `ping` itself, in its place among the answers; the upstream hears it as activity. */
  private onPing(): void {
    this.lastLineAt = Date.now();
    if (this.answers.ping()) this.write(PONG_FRAME);
    if (this.ws.readyState === WebSocket.OPEN) {
      this.lastSentAt = this.lastLineAt;
      this.ws.send(PING);
    }
  }

  /** Forwards one request; its response is owed to the client. */
  private request(frame: string | Buffer): void {
    if (this.finished) return;
    this.lastLineAt = Date.now();
    switch (this.ws.readyState) {
      case WebSocket.OPEN:
        this.lastSentAt = this.lastLineAt;
        this.ws.send(frame, this.onSent);
        break;
      case WebSocket.CONNECTING:
        this.queued.push(frame);
        this.queuedBytes += typeof frame === "string" ? Buffer.byteLength(frame) : frame.length;
        break;
      default:
        return; // the upstream is going; its close ends the session
    }
    this.answers.expectResponse();
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
      // The client was not idle, nor slow with its line, while the gateway was not reading it.
      const now = Date.now();
      this.lastLineAt = now;
      this.reader.restartClock(now);
      this.socket.resume();
    }
  };

  /** FIN from the client: the last line still counts, and the session ends once everything is answered. */
  private onClientEnd(): void {
    this.clientEnded = true;
    if (!this.inputClosed) this.reader.end();
    this.inputClosed = true;
    this.finishIfAnswered();
  }

  private finishIfAnswered(): void {
    if (this.clientEnded && this.answers.empty && !this.finished) this.finish(undefined, CLIENT_CLOSED, 1000);
  }

  // ---- timeouts -----------------------------------------------------------------------------

  private get idleMs(): number {
    return this.config.idleTimeoutSeconds * 1000;
  }

  private get lineMs(): number {
    return this.config.lineTimeoutSeconds * 1000;
  }

  /** One timer, re-armed lazily: lines only move lastLineAt, the timer checks it when it fires. */
  private armIdleTimer(ms: number): void {
    if (this.idleMs <= 0) return;
    this.idleTimer = setTimeout(() => this.guard(() => this.checkIdle()), Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    this.idleTimer.unref();
  }

  private checkIdle(): void {
    if (this.finished) return;
    const quiet = Date.now() - this.lastLineAt;
    if (this.inputPaused || quiet < this.idleMs) {
      this.armIdleTimer(this.inputPaused ? this.idleMs : this.idleMs - quiet);
      return;
    }
    this.finish(GOODBYE_REASONS.idle, GOODBYE_REASONS.idle, 1000);
  }

  private armLineTimer(ms: number): void {
    this.lineTimer = setTimeout(() => this.guard(() => this.checkLine()), Math.min(Math.max(ms, 0), MAX_TIMER_MS));
    this.lineTimer.unref();
  }

  private checkLine(): void {
    this.lineTimer = undefined;
    const started = this.reader.startedAt;
    if (this.finished || this.inputClosed || started === undefined) return;
    const waited = Date.now() - started;
    if (this.inputPaused || waited < this.lineMs) {
      this.armLineTimer(this.inputPaused ? this.lineMs : this.lineMs - waited);
      return;
    }
    this.finish(GATEWAY_GOODBYE_REASONS.lineTimeout, GATEWAY_GOODBYE_REASONS.lineTimeout, 1000);
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
    // One decode per frame, by fields (src/protocol/frames.ts): a direct message that looks like a
    // goodbye or a response is only ever a direct message.
    const text = frame.toString("utf8");
    const decoded = decodeServerFrame(text);
    // The runtime's answer to a ping the gateway sent upstream; the client's own pongs come from
    // the gateway, in their place (AnswerQueue).
    if (decoded.kind === "pong") return;
    if (decoded.kind === "goodbye") {
      // A goodbye is always the server's last word: pass it on and end now rather than wait for
      // the upstream close, which the runtime may deliver late.
      this.goodbyeSent = true;
      this.write(frame);
      this.finish(undefined, typeof decoded.message.reason === "string" ? decoded.message.reason : "server said goodbye", 1000);
      return;
    }
    if (decoded.kind === "refusal") {
      // A refused connect (an embedding app's onBeforeConnect, say): the refusal is the last word,
      // not followed by a "connection to server lost" of the gateway's own.
      this.goodbyeSent = true;
      this.write(frame);
      this.finish(undefined, `refused: ${decoded.message.code}`, 1000);
      return;
    }
    // The first frame answers the connect (normally the welcome); after it, only responses answer.
    const answers = !this.welcomed || decoded.kind === "response";
    if (!this.welcomed) {
      this.welcomed = true;
      // The welcome's id and room name the connection in the log.
      if (decoded.kind === "welcome") {
        this.id = decoded.message.id;
        this.room = decoded.message.room;
      }
    }
    this.write(terminalSafe(frame, text));
    if (answers) {
      for (let pongs = this.answers.answered(); pongs > 0; pongs--) this.write(PONG_FRAME);
    }
    if (!this.finished) this.finishIfAnswered();
  }

  private write(frame: Buffer): void {
    if (this.socket.destroyed) return;
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
    this.finish(GOODBYE_REASONS.tooSlow, GOODBYE_REASONS.tooSlow, 1008, { unreadBytes: this.socket.writableLength });
  }

  private onUpstreamClose(): void {
    if (this.finished) return;
    const reason = this.upstreamOpened ? GATEWAY_GOODBYE_REASONS.upstreamLost : GATEWAY_GOODBYE_REASONS.upstreamUnavailable;
    this.finish(reason, reason, 1000);
  }

  // ---- ending -------------------------------------------------------------------------------

  /** Says goodbye (unless one was said already), ends the client and closes the upstream. */
  private finish(goodbyeReason: string | undefined, why: string, upstreamCode: number, details: LogFields = {}): void {
    if (this.finished) return;
    this.finished = true;
    this.clearTimers();
    this.logDisconnect(why, details);
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

  private clearTimers(): void {
    clearTimeout(this.stallTimer);
    clearTimeout(this.idleTimer);
    clearTimeout(this.lineTimer);
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
      this.clearTimers();
      const error = this.clientError;
      this.logDisconnect(error === undefined ? CLIENT_CLOSED : CLIENT_ERROR, { message: error });
      this.closeUpstream(1000);
    }
    this.resolveClosed();
  }

  /** The connection's names for the log: client address, and from the welcome on, id and room. */
  private who(): LogFields {
    return { client: this.address, id: this.id, room: this.room };
  }

  private logDisconnect(reason: string, details: LogFields): void {
    if (this.logged) return;
    this.logged = true;
    const level: LogLevel = WARN_REASONS.has(reason) ? "warn" : "info";
    this.log.write(level, "disconnect", { ...this.who(), reason, durationMs: Date.now() - this.connectedAt, ...details });
  }
}

/**
 * Characters a terminal acts on even inside a JSON string: DEL, the C1 controls (an 8-bit CSI can
 * clear another user's screen) and the bidirectional overrides (which reorder what is shown).
 * JSON.stringify leaves them raw; written as `\uXXXX` escapes the line is the same JSON value and
 * harmless on nc or telnet.
 */
const TERMINAL_CONTROLS = /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function terminalSafe(frame: Buffer, text: string): Buffer {
  TERMINAL_CONTROLS.lastIndex = 0;
  if (!TERMINAL_CONTROLS.test(text)) return frame;
  return Buffer.from(text.replace(TERMINAL_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`), "utf8");
}
