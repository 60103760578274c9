const LF = 0x0a;
const CR = 0x0d;
const NUL = 0x00;
const CTRL_C = 0x03;
const CTRL_D = 0x04;

// Telnet (RFC 854, 855; EOF/SUSP/ABORT from RFC 1184). Every byte from 0xEC up is a command.
const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
const WILL = 0xfb;
const DONT = 0xfe;
const IP = 0xf4; // interrupt process: telnet's Ctrl-C
const EOF_COMMAND = 0xec; // telnet's Ctrl-D
const ABORT = 0xee;
const LOWEST_COMMAND = EOF_COMMAND;

export interface LineSink {
  /** One complete line: telnet commands and the line end removed, at most maxBytes long. */
  line(bytes: Buffer): void;
  /** The current line just passed maxBytes; the rest of it, up to its line end, is dropped unbuffered. */
  oversize(): void;
  /** A complete line held a malformed telnet sequence; nothing of it is kept. */
  malformed(): void;
  /** Ctrl-C / Ctrl-D (raw 0x03 / 0x04, IAC IP / EOF / ABORT): the line being typed is dropped, and
   * the reader takes no more input. */
  interrupt(): void;
}

/** Where the current line is in a telnet command. */
type Telnet = "data" | "iac" | "option" | "sub" | "subIac";

/**
 * Turns a TCP client's byte stream into lines (spec section 10; README "The TCP gateway").
 *
 * Lines are split on the raw bytes first, so no telnet byte can merge or swallow lines: CR LF,
 * CR NUL, a bare CR and LF each end a line (RFC 854), and a CR followed by LF or NUL, even in a
 * later read, is one line end. Inside a line, telnet commands are removed: IAC IAC is the data
 * byte 0xFF, option negotiation (IAC WILL/WONT/DO/DONT <option>), subnegotiation (IAC SB … IAC SE)
 * and two-byte commands (NOP, GA, AYT, …) go. A line with a malformed sequence — IAC as its last
 * byte, a negotiation without its option byte or a subnegotiation without IAC SE before the line
 * end, IAC and a byte that is no command — is reported as `malformed`; the next line is read as
 * usual. 0x03, 0x04 and 0xFF never occur in UTF-8 text, so text passes through untouched.
 *
 * Splitting is on bytes, so a UTF-8 character cut between two reads is whole again in the line.
 * At most maxBytes bytes of a line are ever buffered, and nothing of a telnet command.
 */
export class LineReader {
  private parts: Buffer[] = [];
  private partLength = 0;
  /** The line passed maxBytes and was reported; the rest of it is dropped. */
  private discarding = false;
  private malformedLine = false;
  private telnet: Telnet = "data";
  /** The last line ended with CR: an LF or NUL right after it belongs to that line end. */
  private afterCR = false;
  private stopped = false;
  private lineStartedAt: number | undefined;

  constructor(
    private readonly maxBytes: number,
    private readonly sink: LineSink,
  ) {}

  /**
   * When the unfinished line got its first byte (epoch ms, as given to `push`), or undefined when
   * no line is under way. Complete telnet commands alone do not start a line: a telnet client may
   * negotiate long before anyone types.
   */
  get startedAt(): number | undefined {
    return this.lineStartedAt;
  }

  /** The unfinished line counts as started now (its clock was stopped while the gateway did not read). */
  restartClock(now: number): void {
    if (this.lineStartedAt !== undefined) this.lineStartedAt = now;
  }

  /** The next bytes from the client; `now` (epoch ms) dates a line that starts in them. */
  push(chunk: Buffer, now = Date.now()): void {
    if (this.stopped) return;
    let run = -1; // start of the data bytes not yet added to the line
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.afterCR) {
        this.afterCR = false;
        if (byte === LF || byte === NUL) continue;
      }
      if (byte === LF || byte === CR) {
        if (run !== -1) this.addData(chunk.subarray(run, i));
        run = -1;
        this.endLine();
        this.afterCR = byte === CR;
        continue;
      }
      switch (this.telnet) {
        case "data":
          if (byte === IAC || byte === CTRL_C || byte === CTRL_D) {
            if (run !== -1) this.addData(chunk.subarray(run, i));
            run = -1;
            if (byte === IAC) {
              this.telnet = "iac";
            } else {
              this.interrupt();
              return;
            }
          } else if (run === -1) {
            run = i;
          }
          break;
        case "iac":
          this.telnet = "data";
          if (byte === IAC) {
            this.addData(chunk.subarray(i, i + 1)); // an escaped 0xFF data byte
          } else if (byte === IP || byte === EOF_COMMAND || byte === ABORT) {
            this.interrupt();
            return;
          } else if (byte === SB) {
            this.telnet = "sub";
          } else if (byte >= WILL && byte <= DONT) {
            this.telnet = "option";
          } else if (byte < LOWEST_COMMAND) {
            this.malformedLine = true; // IAC and a byte that is no telnet command
          }
          // any other command (NOP, GA, AYT, DM, ...) is two bytes and removed
          break;
        case "option":
          this.telnet = "data";
          break;
        case "sub":
          if (byte === IAC) this.telnet = "subIac";
          break;
        case "subIac":
          // IAC SE ends it; IAC IAC is a 0xFF inside it; anything else is taken as more of it
          this.telnet = byte === SE ? "data" : "sub";
          break;
      }
    }
    if (run !== -1) this.addData(chunk.subarray(run));
    if (!this.underWay()) this.lineStartedAt = undefined;
    else this.lineStartedAt ??= now;
  }

  /** The client half-closed: a last line without a line end still counts. */
  end(): void {
    if (this.stopped) return;
    if (this.underWay()) this.endLine();
    this.stopped = true;
  }

  private underWay(): boolean {
    return this.partLength > 0 || this.discarding || this.malformedLine || this.telnet !== "data";
  }

  private addData(bytes: Buffer): void {
    if (this.discarding || this.malformedLine || bytes.length === 0) return;
    if (this.partLength + bytes.length > this.maxBytes) {
      this.parts = [];
      this.partLength = 0;
      this.discarding = true;
      this.sink.oversize();
      return;
    }
    this.parts.push(bytes);
    this.partLength += bytes.length;
  }

  private endLine(): void {
    const { discarding, partLength, parts } = this;
    const malformed = this.malformedLine || this.telnet !== "data";
    this.parts = [];
    this.partLength = 0;
    this.discarding = false;
    this.malformedLine = false;
    this.telnet = "data";
    this.lineStartedAt = undefined;
    if (discarding) return; // answered when it passed the limit
    if (malformed) this.sink.malformed();
    else this.sink.line(parts.length === 1 ? parts[0] : Buffer.concat(parts, partLength));
  }

  private interrupt(): void {
    this.parts = [];
    this.partLength = 0;
    this.stopped = true;
    this.lineStartedAt = undefined;
    this.sink.interrupt();
  }
}
