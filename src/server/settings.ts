import { DEFAULT_LIMITS, HARD_FRAME_CAP_BYTES, type Limits } from "../protocol/index.js";
import { logEvent } from "./log.js";

/**
 * edgechat's settings. The standalone app reads them from environment names (wrangler.toml
 * [vars], secrets, .dev.vars); an app that embeds edgechat passes them as an options object
 * (`settings`), which overrides the names, or turns the names off (`settingsFromEnv: false`).
 */
export interface Settings {
  serverName: string;
  defaultRoom: string;
  welcomeMessage: string;
  limits: Limits;
  /** Undefined when unset: the calls that need it answer 503 instead of using a default. */
  adminToken?: string;
  tokenSecret?: string;
  gatewaySecret?: string;
  allowedOrigins: string[];
  /** A connection with no frame and no keep-alive ping for this long (ms) is closed as stale. */
  idleTimeoutMs: number;
  /**
   * How often (ms) an object that hosts sockets checks them (an alarm): after a restart its rooms
   * and the directory learn within this long that its connections are gone; stale ones are closed
   * on the same beat.
   */
  sweepIntervalMs: number;
  /** Broadcasts each room keeps for replay (`since`) and the `history` verb. */
  historySize: number;
  /** roomView lists at most this many members per page. */
  roomViewPageSize: number;
  /**
   * How many objects host the sockets of connections that start in the default room (every gateway
   * client does), so that no single object runs all of their requests.
   */
  defaultRoomHosts: number;
  /** How long (ms) an `Idempotency-Key` of the server API is remembered. */
  idempotencyWindowMs: number;
  /** Sockets a host object takes for one room before the room opens another host (below the runtime's 32,768). */
  hostCapacity: number;
  /** The most host objects one room spreads its connections over. */
  maxHostsPerRoom: number;
  /** Above this many members a room sends `presence` counts (at most once a second) instead of join/leave notices. */
  presenceNoticeLimit: number;
}

/**
 * Settings as an app gives them in code (every field optional; units in the names). Numbers are
 * checked against the same ranges as the environment names (NUMBER_SETTINGS).
 */
export interface SettingsInput {
  serverName?: string;
  defaultRoom?: string;
  welcomeMessage?: string;
  adminToken?: string;
  tokenSecret?: string;
  gatewaySecret?: string;
  allowedOrigins?: string[];
  maxMessageBytes?: number;
  maxParams?: number;
  maxParamKeyLength?: number;
  maxParamValueLength?: number;
  maxListening?: number;
  /** Requests per second per connection (burst 2×); may be fractional. */
  rateLimit?: number;
  idleTimeoutSeconds?: number;
  sweepIntervalSeconds?: number;
  historySize?: number;
  roomViewPageSize?: number;
  defaultRoomHosts?: number;
  idempotencyWindowSeconds?: number;
  hostCapacity?: number;
  maxHostsPerRoom?: number;
  presenceNoticeLimit?: number;
}

/** The environment names the standalone app reads (all strings, as Workers give vars and secrets). */
export interface SettingsEnv {
  ADMIN_TOKEN?: string;
  TOKEN_SECRET?: string;
  GATEWAY_SECRET?: string;
  SERVER_NAME?: string;
  DEFAULT_ROOM?: string;
  WELCOME_MESSAGE?: string;
  ALLOWED_ORIGINS?: string;
  MAX_MESSAGE_BYTES?: string;
  MAX_PARAMS?: string;
  MAX_PARAM_KEY_LENGTH?: string;
  MAX_PARAM_VALUE_LENGTH?: string;
  MAX_LISTENING?: string;
  RATE_LIMIT?: string;
  IDLE_TIMEOUT_SECONDS?: string;
  SWEEP_INTERVAL_SECONDS?: string;
  HISTORY_SIZE?: string;
  ROOM_VIEW_PAGE_SIZE?: string;
  DEFAULT_ROOM_HOSTS?: string;
  IDEMPOTENCY_WINDOW_SECONDS?: string;
  HOST_CAPACITY?: string;
  MAX_HOSTS_PER_ROOM?: string;
  PRESENCE_NOTICE_LIMIT?: string;
}

/** A numeric setting: its environment name, default and allowed range (inclusive). */
interface NumberSetting {
  name: keyof SettingsEnv;
  fallback: number;
  min: number;
  max: number;
  /** Counts and sizes are whole numbers; a rate may be fractional (0.5 = one request per 2 s). */
  whole: boolean;
}

const DAY_SECONDS = 86_400;

/** Every numeric setting and its range: a value outside it (or not a number) keeps the default, with a warning. */
export const NUMBER_SETTINGS = {
  maxMessageBytes: { name: "MAX_MESSAGE_BYTES", fallback: DEFAULT_LIMITS.maxMessageBytes, min: 1, max: HARD_FRAME_CAP_BYTES, whole: true },
  maxParams: { name: "MAX_PARAMS", fallback: DEFAULT_LIMITS.maxParams, min: 1, max: 1000, whole: true },
  maxParamKeyLength: { name: "MAX_PARAM_KEY_LENGTH", fallback: DEFAULT_LIMITS.maxParamKeyLength, min: 1, max: 1024, whole: true },
  maxParamValueLength: { name: "MAX_PARAM_VALUE_LENGTH", fallback: DEFAULT_LIMITS.maxParamValueLength, min: 1, max: 65_536, whole: true },
  maxListening: { name: "MAX_LISTENING", fallback: DEFAULT_LIMITS.maxListening, min: 1, max: 1000, whole: true },
  rateLimit: { name: "RATE_LIMIT", fallback: DEFAULT_LIMITS.rateLimit, min: 0.001, max: 1_000_000, whole: false },
  idleTimeoutSeconds: { name: "IDLE_TIMEOUT_SECONDS", fallback: 600, min: 1, max: 7 * DAY_SECONDS, whole: true },
  sweepIntervalSeconds: { name: "SWEEP_INTERVAL_SECONDS", fallback: 10, min: 1, max: 3600, whole: true },
  historySize: { name: "HISTORY_SIZE", fallback: 100, min: 0, max: 100_000, whole: true },
  roomViewPageSize: { name: "ROOM_VIEW_PAGE_SIZE", fallback: 1000, min: 1, max: 10_000, whole: true },
  defaultRoomHosts: { name: "DEFAULT_ROOM_HOSTS", fallback: 8, min: 1, max: 1024, whole: true },
  idempotencyWindowSeconds: { name: "IDEMPOTENCY_WINDOW_SECONDS", fallback: DAY_SECONDS, min: 1, max: 7 * DAY_SECONDS, whole: true },
  hostCapacity: { name: "HOST_CAPACITY", fallback: 10_000, min: 1, max: 32_768, whole: true },
  maxHostsPerRoom: { name: "MAX_HOSTS_PER_ROOM", fallback: 128, min: 1, max: 1024, whole: true },
  presenceNoticeLimit: { name: "PRESENCE_NOTICE_LIMIT", fallback: 500, min: 1, max: 10_000_000, whole: true },
} satisfies Record<string, NumberSetting>;

type NumberKey = keyof typeof NUMBER_SETTINGS;

function checkedNumber(setting: NumberSetting, raw: unknown, from: string): number | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  const value = typeof raw === "number" ? raw : Number(raw);
  const fits = Number.isFinite(value) && value >= setting.min && value <= setting.max && (!setting.whole || Number.isInteger(value));
  if (fits) return value;
  logEvent("warn", "setting", {
    setting: from,
    value: String(raw).slice(0, 40),
    error: `must be ${setting.whole ? "a whole number" : "a number"} from ${setting.min} to ${setting.max}; using ${setting.fallback}`,
  });
  return undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

/** The settings that environment names give (strings), as SettingsInput. */
function inputFromEnv(env: SettingsEnv): SettingsInput {
  const input: SettingsInput = {
    serverName: nonEmpty(env.SERVER_NAME),
    defaultRoom: nonEmpty(env.DEFAULT_ROOM),
    welcomeMessage: env.WELCOME_MESSAGE,
    adminToken: nonEmpty(env.ADMIN_TOKEN),
    tokenSecret: nonEmpty(env.TOKEN_SECRET),
    gatewaySecret: nonEmpty(env.GATEWAY_SECRET),
  };
  if (env.ALLOWED_ORIGINS !== undefined) {
    input.allowedOrigins = env.ALLOWED_ORIGINS.split(",")
      .map((origin) => origin.trim())
      .filter((origin) => origin !== "");
  }
  for (const key of Object.keys(NUMBER_SETTINGS) as NumberKey[]) {
    const setting = NUMBER_SETTINGS[key];
    const value = checkedNumber(setting, env[setting.name], setting.name);
    if (value !== undefined) input[key] = value;
  }
  return input;
}

/**
 * Resolves settings: the environment names (unless `fromEnv` is false), then `input` over them.
 * Out-of-range numbers keep their default and log a `setting` warning; nothing throws.
 */
export function resolveSettings(env: object, input: SettingsInput = {}, fromEnv = true): Settings {
  const base = fromEnv ? inputFromEnv(env as SettingsEnv) : {};
  const merged: SettingsInput = { ...base };
  for (const [key, value] of Object.entries(input) as [keyof SettingsInput, unknown][]) {
    if (value === undefined) continue;
    if (key in NUMBER_SETTINGS) {
      const checked = checkedNumber(NUMBER_SETTINGS[key as NumberKey], value, `settings.${key}`);
      if (checked !== undefined) (merged as Record<string, unknown>)[key] = checked;
    } else (merged as Record<string, unknown>)[key] = value;
  }
  const number = (key: NumberKey) => (merged[key] as number | undefined) ?? NUMBER_SETTINGS[key].fallback;
  return {
    serverName: merged.serverName || "edgechat",
    defaultRoom: merged.defaultRoom || "defaultRoom",
    welcomeMessage: merged.welcomeMessage ?? "Hello! Welcome to edgechat",
    limits: {
      maxMessageBytes: number("maxMessageBytes"),
      maxParams: number("maxParams"),
      maxParamKeyLength: number("maxParamKeyLength"),
      maxParamValueLength: number("maxParamValueLength"),
      maxListening: number("maxListening"),
      rateLimit: number("rateLimit"),
    },
    adminToken: merged.adminToken || undefined,
    tokenSecret: merged.tokenSecret || undefined,
    gatewaySecret: merged.gatewaySecret || undefined,
    allowedOrigins: merged.allowedOrigins ?? [],
    idleTimeoutMs: number("idleTimeoutSeconds") * 1000,
    sweepIntervalMs: number("sweepIntervalSeconds") * 1000,
    historySize: number("historySize"),
    roomViewPageSize: number("roomViewPageSize"),
    defaultRoomHosts: number("defaultRoomHosts"),
    idempotencyWindowMs: number("idempotencyWindowSeconds") * 1000,
    hostCapacity: number("hostCapacity"),
    maxHostsPerRoom: number("maxHostsPerRoom"),
    presenceNoticeLimit: number("presenceNoticeLimit"),
  };
}
