import { DEFAULT_LIMITS, limitsFromSettings, type Limits } from "../protocol/index.js";
import type { RoomDirectory } from "../room/RoomDirectory.js";
import type { RoomObject } from "../room/RoomObject.js";

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
  HISTORY_SIZE?: string;
  ROOM_VIEW_PAGE_SIZE?: string;
  DEFAULT_ROOM_HOSTS?: string;
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
  /** Broadcasts each room keeps for replay (`since`) and the `history` verb. */
  historySize: number;
  /** roomView lists at most this many members per page. */
  roomViewPageSize: number;
  /**
   * How many objects host the sockets of connections that start in the default room (every gateway
   * client does), so that no single object runs all of their requests.
   */
  defaultRoomHosts: number;
}

function wholeNumber(value: string | undefined, fallback: number, min = 1): number {
  const number = Number(value);
  return value !== undefined && value !== "" && Number.isFinite(number) && number >= min ? Math.floor(number) : fallback;
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
  return {
    serverName: nonEmpty(env.SERVER_NAME) ?? "edgechat",
    defaultRoom: nonEmpty(env.DEFAULT_ROOM) ?? "defaultRoom",
    welcomeMessage: env.WELCOME_MESSAGE ?? "Hello! Welcome to edgechat",
    limits: env ? limitsFromSettings(env as unknown as Record<string, unknown>) : { ...DEFAULT_LIMITS },
    adminToken: nonEmpty(env.ADMIN_TOKEN),
    tokenSecret: nonEmpty(env.TOKEN_SECRET),
    gatewaySecret: nonEmpty(env.GATEWAY_SECRET),
    allowedOrigins: (env.ALLOWED_ORIGINS ?? "")
      .split(",")
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ""),
    idleTimeoutMs: wholeNumber(env.IDLE_TIMEOUT_SECONDS, 600) * 1000,
    historySize: wholeNumber(env.HISTORY_SIZE, 100, 0),
    roomViewPageSize: wholeNumber(env.ROOM_VIEW_PAGE_SIZE, 1000),
    defaultRoomHosts: wholeNumber(env.DEFAULT_ROOM_HOSTS, 8),
  };
}
