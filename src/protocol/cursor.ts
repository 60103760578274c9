import { ProtocolError } from "./errors.js";

/**
 * Presence page cursors (`roomView <room> <cursor>`). A cursor names the room and the join order
 * of the last member of the page before (a keyset, not an offset), so members who join or leave
 * between pages never shift the others: nobody is skipped or listed twice. Clients treat it as
 * opaque (base64url); the parser checks that it was made for the room it is used with, and the
 * room that it does not point past its last join.
 */
export function encodeCursor(room: string, order: number): string {
  return btoa(`${order.toString(36)}:${room}`).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const CURSOR = /^[A-Za-z0-9_-]{2,200}$/;

/** The join order `cursor` points after; bad_request for anything not made for `room`. */
export function cursorOrder(room: string, cursor: unknown): number {
  if (typeof cursor !== "string" || !CURSOR.test(cursor)) throw notACursor();
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
  } catch {
    throw notACursor();
  }
  const separator = text.indexOf(":");
  const digits = separator > 0 ? text.slice(0, separator) : "";
  const order = /^[0-9a-z]{1,11}$/.test(digits) ? parseInt(digits, 36) : NaN;
  if (text.slice(separator + 1) !== room || !Number.isSafeInteger(order) || order < 1) throw notACursor();
  return order;
}

export function notACursor(): ProtocolError {
  return new ProtocolError("bad_request", "not a cursor from roomView of this room: pass back the cursor of the previous page");
}
