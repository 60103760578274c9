/**
 * Closes a socket without throwing. The Hibernation API wants the close reciprocated; codes
 * 1005/1006/1015 describe a close and may not be sent, so they become 1000.
 */
export function closeQuietly(ws: WebSocket, code: number, reason: string): void {
  const sendable = code === 1005 || code === 1006 || code === 1015 || code < 1000 ? 1000 : code;
  try {
    ws.close(sendable, truncateReason(reason));
  } catch {
    // Already closed.
  }
}

/** Close reasons are limited to 123 bytes of UTF-8. */
function truncateReason(reason: string): string {
  let text = reason;
  while (new TextEncoder().encode(text).byteLength > 123) text = text.slice(0, -1);
  return text;
}
