import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Wire format shared by the server (signing) and the SDK (verifying, sdk/node.ts). Webhook signatures, Stripe-style: `Parley-Signature: t=<ms>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 * The timestamp is signed with the body, so a receiver that refuses old timestamps refuses replays.
 */
export const SIGNATURE_HEADER = 'parley-signature';

export function signWebhook(secret: string, body: string, timestamp: number): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; reason: 'malformed' | 'mismatch' | 'stale' };

/** Checks a Parley-Signature header against the raw body; `toleranceMs` bounds the timestamp's age either way. */
export function verifyWebhook(secret: string, header: string | undefined, body: string, now: number, toleranceMs = 5 * 60_000): SignatureCheck {
  const parts = new Map((header ?? '').split(',').map((p) => p.split('=', 2) as [string, string]));
  const timestamp = Number(parts.get('t'));
  const mac = parts.get('v1');
  if (!Number.isSafeInteger(timestamp) || !mac || !/^[0-9a-f]{64}$/.test(mac)) return { ok: false, reason: 'malformed' };
  const expected = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  if (!timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(mac, 'hex'))) return { ok: false, reason: 'mismatch' };
  if (Math.abs(now - timestamp) > toleranceMs) return { ok: false, reason: 'stale' };
  return { ok: true, timestamp };
}
