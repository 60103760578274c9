/** The bindings of wrangler.toml. */
export interface Env {
  SESSIONS: KVNamespace;
  CHAT_LOG: KVNamespace;
  CHAT_ROOMS: DurableObjectNamespace;
  CHAT_DIRECTORY: DurableObjectNamespace;
}
