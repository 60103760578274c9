import WebSocket from "ws";
import { GATEWAY_CLIENT_IP_HEADER, GATEWAY_SECRET_HEADER, PONG } from "../protocol/index.js";

/**
 * Opens the upstream chat WebSocket for one TCP client. Compression is off: workerd offers
 * permessage-deflate by default and it costs 3-4x in fan-out throughput for no gain on loopback or LAN.
 */
export function openUpstream(url: string, clientIP: string, gatewaySecret: string | undefined, handshakeTimeoutMs: number): WebSocket {
  const headers: Record<string, string> = { [GATEWAY_CLIENT_IP_HEADER]: clientIP };
  if (gatewaySecret) headers[GATEWAY_SECRET_HEADER] = gatewaySecret;
  return new WebSocket(url, { perMessageDeflate: false, headers, handshakeTimeout: handshakeTimeoutMs });
}

// The room object builds responses and goodbyes with JSON.stringify of objects whose first keys are
// fixed (src/protocol/messages.ts), so a prefix test tells them apart without parsing every frame.
const RESPONSE_PREFIX = Buffer.from('{"context":"response"');
const GOODBYE_PREFIX = Buffer.from('{"context":"api","status":"Bye!"');
const PONG_FRAME = Buffer.from(PONG);

function startsWith(frame: Buffer, prefix: Buffer): boolean {
  return frame.length >= prefix.length && frame.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/** A frame that answers one request. */
export function isResponse(frame: Buffer): boolean {
  return startsWith(frame, RESPONSE_PREFIX);
}

/** The runtime's answer to `ping`. */
export function isPong(frame: Buffer): boolean {
  return frame.equals(PONG_FRAME);
}

export function isGoodbye(frame: Buffer): boolean {
  return startsWith(frame, GOODBYE_PREFIX);
}

/** The reason of a goodbye frame (for the log), if it parses. */
export function goodbyeReason(frame: Buffer): string | undefined {
  try {
    const reason = (JSON.parse(frame.toString("utf8")) as { reason?: unknown }).reason;
    return typeof reason === "string" ? reason : undefined;
  } catch {
    return undefined;
  }
}
