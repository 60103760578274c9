/** Per-connection limits (spec section 7). Every one is a Worker setting with this default. */
export interface Limits {
  maxMessageBytes: number;
  maxParams: number;
  maxParamKeyLength: number;
  maxParamValueLength: number;
  maxListening: number;
  /** Requests per second; the bucket holds twice this many. */
  rateLimit: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxMessageBytes: 65536,
  maxParams: 32,
  maxParamKeyLength: 64,
  maxParamValueLength: 1024,
  maxListening: 32,
  rateLimit: 20,
});

/** Frames above this may close the connection with 1009 instead of an error response. */
export const HARD_FRAME_CAP_BYTES = 1024 * 1024;
