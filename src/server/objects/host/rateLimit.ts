/** Token bucket (spec section 10): capacity 2 × rate, starts full, refills at rate per second. */
export interface Bucket {
  tokens: number;
  /** Epoch ms of the last refill. */
  at: number;
}

export function fullBucket(rate: number, now: number): Bucket {
  return { tokens: 2 * rate, at: now };
}

/** Takes one token if there is one; mutates the bucket, which lives in the socket attachment. */
export function takeToken(bucket: Bucket, rate: number, now: number): boolean {
  const elapsed = Math.max(0, now - bucket.at);
  bucket.tokens = Math.min(2 * rate, bucket.tokens + (elapsed * rate) / 1000);
  bucket.at = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}
