import { createHmac } from 'node:crypto';

/** `sha256=<hex>` of HMAC-SHA256(secret, `<timestamp>.<body>`): what X-Parley-Signature carries. */
export const webhookSignature = (secret: string, timestamp: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
