import { createHmac } from 'node:crypto';

export const WEBHOOK_ID_HEADER = 'X-Webhook-Id';
export const WEBHOOK_TIMESTAMP_HEADER = 'X-Webhook-Timestamp';
export const WEBHOOK_SIGNATURE_HEADER = 'X-Webhook-Signature';

/** hex HMAC-SHA256(secret, "<timestamp>.<raw body>"): the timestamp is signed so it cannot be replaced. */
export function webhookSignature(secret: string, timestamp: number | string, rawBody: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex');
}

/**
 * The signature header value: one `v1=` per secret, space separated. During a rotation the sender
 * signs with both secrets, so a receiver holding either one accepts the message.
 */
export function signatureHeader(secrets: readonly string[], timestamp: number | string, rawBody: string | Buffer): string {
  return secrets.map((s) => `v1=${webhookSignature(s, timestamp, rawBody)}`).join(' ');
}
