import type { EdgechatErrorCode } from "./types.js";

/** A rejected request or connect: `code` is the protocol's error code, or one of the client's own. */
export class EdgechatError extends Error {
  readonly code: EdgechatErrorCode;
  readonly requestId?: string;
  readonly messageCount?: number;

  constructor(code: EdgechatErrorCode, message: string, extra: { requestId?: string; messageCount?: number } = {}) {
    super(message);
    this.name = "EdgechatError";
    this.code = code;
    if (extra.requestId !== undefined) this.requestId = extra.requestId;
    if (extra.messageCount !== undefined) this.messageCount = extra.messageCount;
  }
}
