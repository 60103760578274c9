/** Room names: 1–64 characters from A–Z a–z 0–9 _ - . : (case-sensitive). */
const ROOM_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

export const PRIVATE_ROOM_PREFIX = "private-";

export function isValidRoomName(name: unknown): name is string {
  return typeof name === "string" && ROOM_NAME.test(name);
}

export function isPrivateRoom(name: string): boolean {
  return name.startsWith(PRIVATE_ROOM_PREFIX);
}
