const LF = 0x0a;
const CR = 0x0d;

export interface LineSink {
  /** One complete line, without its `\n` and one trailing `\r`, at most maxBytes long. */
  line(bytes: Buffer): void;
  /** The current line just passed maxBytes; the rest of it, up to the next `\n`, is dropped unbuffered. */
  oversize(): void;
}

/**
 * Splits a TCP byte stream into lines (spec section 10). Splitting is on bytes, so a UTF-8 sequence
 * cut between two reads is whole again in the line; at most maxBytes + 1 bytes are ever buffered.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partLength = 0;
  private discarding = false;

  constructor(
    private readonly maxBytes: number,
    private readonly sink: LineSink,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const newline = chunk.indexOf(LF, start);
      if (newline === -1) {
        this.keepPartial(chunk.subarray(start));
        return;
      }
      const piece = chunk.subarray(start, newline);
      start = newline + 1;
      if (this.discarding) {
        this.discarding = false;
        continue;
      }
      let line = piece;
      if (this.partLength > 0) {
        this.parts.push(piece);
        line = Buffer.concat(this.parts, this.partLength + piece.length);
        this.parts = [];
        this.partLength = 0;
      }
      this.emit(line);
    }
  }

  /** The client half-closed: a last line without `\n` still counts. */
  end(): void {
    if (this.discarding || this.partLength === 0) {
      this.reset();
      return;
    }
    const line = Buffer.concat(this.parts, this.partLength);
    this.reset();
    this.emit(line);
  }

  /** Forgets a partial line (Ctrl-C cancels what was being typed). */
  reset(): void {
    this.parts = [];
    this.partLength = 0;
    this.discarding = false;
  }

  private emit(line: Buffer): void {
    const body = line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
    if (body.length > this.maxBytes) this.sink.oversize();
    else this.sink.line(body);
  }

  private keepPartial(rest: Buffer): void {
    if (this.discarding || rest.length === 0) return;
    this.parts.push(rest);
    this.partLength += rest.length;
    // One byte over is still fine if it is the `\r` of a `\r\n` still to come.
    const over =
      this.partLength > this.maxBytes + 1 || (this.partLength === this.maxBytes + 1 && rest[rest.length - 1] !== CR);
    if (over) {
      this.parts = [];
      this.partLength = 0;
      this.discarding = true;
      this.sink.oversize();
    }
  }
}
