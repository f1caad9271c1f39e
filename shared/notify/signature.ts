/**
 * How a callback is signed, and how a receiver checks it (Node builtins only: a receiver can copy it).
 *
 *   Jobline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the stack's callback secret>
 *
 * The timestamp is signed with the body, so a captured request cannot be replayed later than the receiver's
 * tolerance (5 minutes by default); `Idempotency-Key` (`<jobId>.<generation>`) deduplicates the at-least-once
 * deliveries within it. The key is the secret's SecretString as UTF-8 bytes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'jobline-signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function signPayload(secret: string, timestampSeconds: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampSeconds}.${body}`, 'utf8').digest('hex');
}

/** The Jobline-Signature header value for `body` at `timestampSeconds`. */
export function signatureHeader(secret: string, body: string, timestampSeconds: number = Math.floor(Date.now() / 1000)): string {
  return `t=${timestampSeconds},v1=${signPayload(secret, timestampSeconds, body)}`;
}

export interface VerifyOptions {
  /** How far the signed time may be from now. Default 300 s. */
  toleranceSeconds?: number;
  nowSeconds?: number;
}

/**
 * Whether `header` is a valid signature of `body` (the raw request body, exactly as received) under
 * `secret`, signed within the tolerance. Any v1 entry may match (a receiver can be sent two during a
 * secret's rotation).
 */
export function verifySignature(secret: string, header: string | undefined, body: string, options: VerifyOptions = {}): boolean {
  if (!header) return false;
  const parts = header.split(',').map((p) => p.trim());
  const t = parts.find((p) => p.startsWith('t='))?.slice(2);
  const signatures = parts.filter((p) => p.startsWith('v1=')).map((p) => p.slice(3));
  if (!t || !/^\d{1,12}$/.test(t) || signatures.length === 0) return false;
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - Number(t)) > (options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS)) return false;
  const expected = Buffer.from(signPayload(secret, Number(t), body), 'hex');
  return signatures.some((s) => /^[0-9a-f]{64}$/.test(s) && timingSafeEqual(Buffer.from(s, 'hex'), expected));
}
