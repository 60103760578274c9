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

const SETTING_NAMES: Record<keyof Limits, string> = {
  maxMessageBytes: "MAX_MESSAGE_BYTES",
  maxParams: "MAX_PARAMS",
  maxParamKeyLength: "MAX_PARAM_KEY_LENGTH",
  maxParamValueLength: "MAX_PARAM_VALUE_LENGTH",
  maxListening: "MAX_LISTENING",
  rateLimit: "RATE_LIMIT",
};

/** Reads limits from string settings; a missing or non-positive value keeps the default. */
export function limitsFromSettings(settings: Record<string, unknown>): Limits {
  const limits = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(SETTING_NAMES) as (keyof Limits)[]) {
    const raw = settings[SETTING_NAMES[key]];
    if (raw === undefined || raw === null || raw === "") continue;
    const value = Number(raw);
    // Sizes and counts are whole numbers; a rate may be fractional (0.5 = one request per 2 s).
    if (Number.isFinite(value) && value > 0) limits[key] = key === "rateLimit" ? value : Math.max(1, Math.floor(value));
  }
  return limits;
}
