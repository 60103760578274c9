/**
 * The answers a line client is owed, in the order it asked: the welcome, one response per
 * forwarded request, and `pong` for each `ping`.
 *
 * The gateway answers a client's `ping` itself, right after the answers to everything the client
 * sent before it (README "The TCP gateway"). Over a WebSocket the runtime answers `ping` at once,
 * without waking the room, so a `pong` can overtake the response to an earlier request; a line
 * client that sends, reads one answer and sends again could then not pair them.
 *
 * Each outstanding answer (the welcome, or a response) carries the number of pongs due right
 * after it; a ping with nothing outstanding is answered at once.
 */
export class AnswerQueue {
  /** Pongs due after each outstanding answer, oldest first, from index `head`. */
  private pongsAfter: number[] = [0]; // the welcome comes first
  private head = 0;

  /** Nothing is outstanding: every request has been answered. */
  get empty(): boolean {
    return this.head === this.pongsAfter.length;
  }

  /** A request was forwarded: one response is due. */
  expectResponse(): void {
    this.pongsAfter.push(0);
  }

  /** The client sent `ping`: true when its pong is due now, else it waits for what is outstanding. */
  ping(): boolean {
    if (this.empty) return true;
    this.pongsAfter[this.pongsAfter.length - 1]++;
    return false;
  }

  /** The welcome or a response arrived: returns how many pongs are due right after it. */
  answered(): number {
    if (this.empty) return 0; // an answer nobody asked for: nothing waits on it
    const pongs = this.pongsAfter[this.head++];
    if (this.head > 1024 && this.head * 2 > this.pongsAfter.length) {
      this.pongsAfter = this.pongsAfter.slice(this.head);
      this.head = 0;
    }
    return pongs;
  }
}
