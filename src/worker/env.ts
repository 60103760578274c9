import { DEFAULT_LIMITS, HARD_FRAME_CAP_BYTES, type Limits } from "../protocol/index.js";
import type { RoomDirectory } from "../room/RoomDirectory.js";
import type { RoomObject } from "../room/RoomObject.js";
import { logEvent } from "./log.js";

/** Bindings and settings of the Worker (wrangler.toml [vars], secrets, .dev.vars). */
export interface Env {
  ROOMS: DurableObjectNamespace<RoomObject>;
  DIRECTORY: DurableObjectNamespace<RoomDirectory>;
  ASSETS?: Fetcher;
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
}

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
  /** A connection with no frame and no keep-alive ping for this long is closed as stale. */
  idleTimeoutMs: number;
  /**
   * How often an object that hosts sockets checks them (an alarm): after a restart its rooms and the
   * directory learn within this long that its connections are gone; stale ones are closed on the same beat.
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
  /** How long an `Idempotency-Key` of the server API is remembered. */
  idempotencyWindowMs: number;
}

/** A numeric setting: its env name, default and allowed range (inclusive). */
interface NumberSetting {
  name: keyof Env;
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
  sweepIntervalSeconds: { name: "SWEEP_INTERVAL_SECONDS", fallback: 5, min: 1, max: 3600, whole: true },
  historySize: { name: "HISTORY_SIZE", fallback: 100, min: 0, max: 100_000, whole: true },
  roomViewPageSize: { name: "ROOM_VIEW_PAGE_SIZE", fallback: 1000, min: 1, max: 10_000, whole: true },
  defaultRoomHosts: { name: "DEFAULT_ROOM_HOSTS", fallback: 8, min: 1, max: 1024, whole: true },
  idempotencyWindowSeconds: { name: "IDEMPOTENCY_WINDOW_SECONDS", fallback: DAY_SECONDS, min: 1, max: 7 * DAY_SECONDS, whole: true },
} satisfies Record<string, NumberSetting>;

function numberSetting(env: Env, setting: NumberSetting): number {
  const raw = env[setting.name];
  if (raw === undefined || raw === null || raw === "") return setting.fallback;
  const value = Number(raw);
  const fits = Number.isFinite(value) && value >= setting.min && value <= setting.max && (!setting.whole || Number.isInteger(value));
  if (fits) return value;
  logEvent("warn", "setting", {
    setting: setting.name,
    value: String(raw).slice(0, 40),
    error: `must be ${setting.whole ? "a whole number" : "a number"} from ${setting.min} to ${setting.max}; using ${setting.fallback}`,
  });
  return setting.fallback;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === "" ? undefined : value;
}

const settingsByEnv = new WeakMap<Env, Settings>();

/** Settings are read once per env object (per isolate), not on every request. */
export function readSettings(env: Env): Settings {
  let settings = settingsByEnv.get(env);
  if (!settings) {
    settings = parseSettings(env);
    settingsByEnv.set(env, settings);
  }
  return settings;
}

function parseSettings(env: Env): Settings {
  const number = (key: keyof typeof NUMBER_SETTINGS) => numberSetting(env, NUMBER_SETTINGS[key]);
  return {
    serverName: nonEmpty(env.SERVER_NAME) ?? "edgechat",
    defaultRoom: nonEmpty(env.DEFAULT_ROOM) ?? "defaultRoom",
    welcomeMessage: env.WELCOME_MESSAGE ?? "Hello! Welcome to edgechat",
    limits: {
      maxMessageBytes: number("maxMessageBytes"),
      maxParams: number("maxParams"),
      maxParamKeyLength: number("maxParamKeyLength"),
      maxParamValueLength: number("maxParamValueLength"),
      maxListening: number("maxListening"),
      rateLimit: number("rateLimit"),
    },
    adminToken: nonEmpty(env.ADMIN_TOKEN),
    tokenSecret: nonEmpty(env.TOKEN_SECRET),
    gatewaySecret: nonEmpty(env.GATEWAY_SECRET),
    allowedOrigins: (env.ALLOWED_ORIGINS ?? "")
      .split(",")
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ""),
    idleTimeoutMs: number("idleTimeoutSeconds") * 1000,
    sweepIntervalMs: number("sweepIntervalSeconds") * 1000,
    historySize: number("historySize"),
    roomViewPageSize: number("roomViewPageSize"),
    defaultRoomHosts: number("defaultRoomHosts"),
    idempotencyWindowMs: number("idempotencyWindowSeconds") * 1000,
  };
}
