/** Compares two secrets in time that does not depend on where they first differ. */
export function constantTimeEqual(given: string, expected: string): boolean {
  const encoder = new TextEncoder();
  const a = encoder.encode(given);
  const b = encoder.encode(expected);
  // Compare against ourselves on a length mismatch so the time does not reveal the length check alone.
  const lengthsMatch = a.byteLength === b.byteLength;
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (x: ArrayBufferView, y: ArrayBufferView) => boolean };
  if (typeof subtle.timingSafeEqual === "function") {
    return lengthsMatch ? subtle.timingSafeEqual(a, b) : !subtle.timingSafeEqual(a, a);
  }
  let difference = lengthsMatch ? 0 : 1;
  const other = lengthsMatch ? b : a;
  for (let i = 0; i < a.byteLength; i++) difference |= a[i] ^ other[i];
  return difference === 0;
}

export function randomHex(bytes: number): string {
  const buffer = crypto.getRandomValues(new Uint8Array(bytes));
  let hex = "";
  for (const byte of buffer) hex += byte.toString(16).padStart(2, "0");
  return hex;
}
