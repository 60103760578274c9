/** Telnet bytes (RFC 854 and friends) that a raw line client may send. */
const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
const WILL = 0xfb;
const DONT = 0xfe;
const IP = 0xf4; // interrupt process: telnet's Ctrl-C
const EOF_COMMAND = 0xec; // linemode EOF: telnet's Ctrl-D
const ABORT = 0xee;
const CTRL_C = 0x03;
const CTRL_D = 0x04;

export interface TelnetResult {
  /** The bytes to treat as text, with telnet commands removed. */
  data: Buffer;
  /** The client pressed Ctrl-C / Ctrl-D; `data` holds only what came before it. */
  interrupt: boolean;
}

type State = "data" | "iac" | "option" | "sub" | "subIac";

/**
 * Removes telnet command sequences from a byte stream and spots Ctrl-C / Ctrl-D (IAC IP, IAC EOF,
 * IAC ABORT, or the raw 0x03 / 0x04 bytes). Sequences cut between reads are handled. 0x03, 0x04
 * and 0xFF never occur inside UTF-8 text, so text passes through untouched.
 */
export class TelnetFilter {
  private state: State = "data";

  process(chunk: Buffer): TelnetResult {
    if (this.state === "data" && chunk.indexOf(IAC) === -1 && chunk.indexOf(CTRL_C) === -1 && chunk.indexOf(CTRL_D) === -1) {
      return { data: chunk, interrupt: false };
    }
    const out = Buffer.allocUnsafe(chunk.length);
    let length = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      switch (this.state) {
        case "data":
          if (byte === IAC) this.state = "iac";
          else if (byte === CTRL_C || byte === CTRL_D) return { data: out.subarray(0, length), interrupt: true };
          else out[length++] = byte;
          break;
        case "iac":
          this.state = "data";
          if (byte === IAC) out[length++] = IAC; // an escaped 0xFF data byte
          else if (byte === IP || byte === EOF_COMMAND || byte === ABORT) return { data: out.subarray(0, length), interrupt: true };
          else if (byte === SB) this.state = "sub";
          else if (byte >= WILL && byte <= DONT) this.state = "option";
          // any other command (NOP, GA, AYT, ...) is two bytes and dropped
          break;
        case "option":
          this.state = "data";
          break;
        case "sub":
          if (byte === IAC) this.state = "subIac";
          break;
        case "subIac":
          this.state = byte === SE ? "data" : "sub";
          break;
      }
    }
    return { data: out.subarray(0, length), interrupt: false };
  }
}
