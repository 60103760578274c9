/**
 * Token bucket (spec section 10): capacity 2 × rate, starts full, refills at rate per second. The
 * capacity is never below one token, so a rate under 0.5/s (RATE_LIMIT may be fractional) still
 * lets a request through every 1/rate seconds instead of locking the connection out.
 */
export interface Bucket {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
}

function capacity(rate: number): number {
  return Math.max(1, 2 * rate);
}

export function fullBucket(rate: number, now: number): Bucket {
  return { tokens: capacity(rate), at: now };
}

/** Takes one token if there is one; mutates the bucket, which lives in the socket attachment. */
export function takeToken(bucket: Bucket, rate: number, now: number): boolean {
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(capacity(rate), bucket.tokens + (elapsed * rate) / 1000);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}
