/** Room names: 1–64 characters from A–Z a–z 0–9 _ - . : (case-sensitive). */
const ROOM_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * `.` and `..` match the character rule but are URL dot-segments: `/api/rooms/%2e` is
 * `/api/rooms/` to every URL parser (WHATWG URL), so the server API could never reach such a room.
 * They are invalid everywhere instead, so one rule holds on every path and verb.
 */
const DOT_SEGMENTS: ReadonlySet<string> = new Set([".", ".."]);

/** How a valid room name looks, for error messages. */
export const ROOM_NAME_RULE = 'use 1-64 characters from A-Z a-z 0-9 _ - . : (not "." or "..")';

export const PRIVATE_ROOM_PREFIX = "private-";

export function isValidRoomName(name: unknown): name is string {
  return typeof name === "string" && ROOM_NAME.test(name) && !DOT_SEGMENTS.has(name);
}

export function isPrivateRoom(name: string): boolean {
  return name.startsWith(PRIVATE_ROOM_PREFIX);
}
