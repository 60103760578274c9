/** Names shared by the Worker, the room object and the gateway for things outside the chat protocol. */

/** The keep-alive text frame and its answer; answered by the runtime without waking a room. */
export const PING = "ping";
export const PONG = "pong";

/** Headers a gateway sets on its upstream upgrade; trusted only with the right GATEWAY_SECRET. */
export const GATEWAY_SECRET_HEADER = "X-Edgechat-Gateway-Secret";
export const GATEWAY_CLIENT_IP_HEADER = "X-Edgechat-Client-IP";

/**
 * Gateway → room control frames travel as binary frames. Only a connection that arrived through a
 * gateway (it names the client address in GATEWAY_CLIENT_IP_HEADER, which a browser cannot set) may
 * send them; anyone else's binary frame is a bad_request. They only choose an error response, so
 * they need no secret. One byte says what happened.
 */
export const GATEWAY_CONTROL = {
  /** The TCP client sent a line over MAX_MESSAGE_BYTES; answer it with message_too_large. */
  oversizeLine: 1,
  /** The TCP client sent a line that is not UTF-8 text; answer it with bad_request. */
  invalidLine: 2,
  /** The TCP client sent a line with a malformed telnet command (a lone IAC, IAC WILL without its
   * option, IAC SB without IAC SE, IAC and a byte that is no command); answer it with bad_request. */
  malformedTelnet: 3,
} as const;
