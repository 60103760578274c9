import { resolveSettings, type Settings, type SettingsInput } from "./settings.js";

/** The names under which an app bound edgechat's two Durable Object classes (wrangler.toml). */
export interface ChatBindings {
  /** The ChatRoom class (one object per room, and hosts of sockets). Default "ROOMS". */
  rooms: string;
  /** The ChatDirectory class (which rooms have members). Default "DIRECTORY". */
  directory: string;
}

export const DEFAULT_BINDINGS: Readonly<ChatBindings> = Object.freeze({ rooms: "ROOMS", directory: "DIRECTORY" });

/**
 * What edgechat needs to know about the app it runs in. The same object goes to the router
 * (`routeChatRequest`, `handleChatAdmin`, `chatRooms`) and to the Durable Object classes
 * (`static options`), so both sides agree on bindings and settings.
 */
export interface ChatOptions {
  /** Binding names, if the app chose others than ROOMS / DIRECTORY. */
  bindings?: Partial<ChatBindings>;
  /** Settings in code; they override the environment names. */
  settings?: SettingsInput;
  /**
   * Whether to read the environment names (ADMIN_TOKEN, MAX_PARAMS, …) at all. Default true;
   * an app whose own variables might collide turns it off and passes `settings`.
   */
  settingsFromEnv?: boolean;
}

/** Settings and namespaces resolved for one env: what every part of edgechat works from. */
export interface ChatContext {
  settings: Settings;
  rooms: DurableObjectNamespace;
  directory: DurableObjectNamespace;
}

const contexts = new WeakMap<object, WeakMap<ChatOptions, ChatContext>>();
const NO_OPTIONS: ChatOptions = {};

/**
 * Resolves `options` against an env, once per (env, options) pair (per isolate), so requests do
 * not parse settings again. Throws an Error naming the binding when one is missing: that is a
 * deployment mistake to fix in wrangler.toml, not a client error.
 */
export function chatContext(env: object, options: ChatOptions = NO_OPTIONS): ChatContext {
  let byOptions = contexts.get(env);
  if (!byOptions) {
    byOptions = new WeakMap();
    contexts.set(env, byOptions);
  }
  let context = byOptions.get(options);
  if (!context) {
    const names = { ...DEFAULT_BINDINGS, ...options.bindings };
    context = {
      settings: resolveSettings(env, options.settings, options.settingsFromEnv !== false),
      rooms: namespace(env, names.rooms, "bindings.rooms", "ChatRoom"),
      directory: namespace(env, names.directory, "bindings.directory", "ChatDirectory"),
    };
    byOptions.set(options, context);
  }
  return context;
}

function namespace(env: object, name: string, option: string, className: string): DurableObjectNamespace {
  const value = (env as Record<string, unknown>)[name];
  if (typeof value !== "object" || value === null || typeof (value as DurableObjectNamespace).idFromName !== "function") {
    throw new Error(
      `edgechat: no Durable Object binding "${name}" in env (${option}); bind a class that extends ${className} under that name in wrangler.toml`,
    );
  }
  return value as DurableObjectNamespace;
}
