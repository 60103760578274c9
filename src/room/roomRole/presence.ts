import { notACursor } from "../../protocol/index.js";

/**
 * Presence page cursors. A cursor names the room and the join order of the last member of the
 * page before (a keyset, not an offset), so members who join or leave between pages never shift
 * the others: nobody is skipped or listed twice. It is opaque to clients (base64url); only the
 * room that made it accepts it back.
 */
export function encodeCursor(room: string, order: number): string {
  return btoa(`${order.toString(36)}:${room}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/**
 * The join order a cursor points after. Throws bad_request for anything this room did not hand
 * out: another room's cursor, a made-up one, or one beyond the last join.
 */
export function decodeCursor(room: string, cursor: string, lastOrder: number): number {
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    throw notACursor();
  }
  const separator = text.indexOf(":");
  const order = separator > 0 ? parseInt(text.slice(0, separator), 36) : NaN;
  if (text.slice(separator + 1) !== room || !Number.isSafeInteger(order) || order < 1 || order > lastOrder) throw notACursor();
  return order;
}
