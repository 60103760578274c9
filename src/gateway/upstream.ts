import WebSocket from "ws";
import { decodeServerFrame, GATEWAY_CLIENT_IP_HEADER, GATEWAY_SECRET_HEADER, PONG } from "../protocol/index.js";

/**
 * Opens the upstream chat WebSocket for one TCP client. Compression is off: workerd offers
 * permessage-deflate by default and it costs 3-4x in fan-out throughput for no gain on loopback or LAN.
 */
export function openUpstream(url: string, clientIP: string, gatewaySecret: string | undefined, handshakeTimeoutMs: number): WebSocket {
  const headers: Record<string, string> = { [GATEWAY_CLIENT_IP_HEADER]: clientIP };
  if (gatewaySecret) headers[GATEWAY_SECRET_HEADER] = gatewaySecret;
  return new WebSocket(url, { perMessageDeflate: false, headers, handshakeTimeout: handshakeTimeoutMs });
}

// Frames are told apart by their fields (src/protocol/frames.ts), never by byte prefixes: a direct
// message may hold anything, and only the server's own frames may end a client or answer a request.

/** A frame that answers one request. */
export function isResponse(frame: Buffer): boolean {
  return decodeServerFrame(frame.toString("utf8")).kind === "response";
}

/** The runtime's answer to `ping`. */
export function isPong(frame: Buffer): boolean {
  return frame.length === PONG.length && frame.toString("latin1") === PONG;
}

export function isGoodbye(frame: Buffer): boolean {
  return decodeServerFrame(frame.toString("utf8")).kind === "goodbye";
}

/** The reason of a goodbye frame (for the log), if it is one. */
export function goodbyeReason(frame: Buffer): string | undefined {
  const decoded = decodeServerFrame(frame.toString("utf8"));
  return decoded.kind === "goodbye" && typeof decoded.message.reason === "string" ? decoded.message.reason : undefined;
}
