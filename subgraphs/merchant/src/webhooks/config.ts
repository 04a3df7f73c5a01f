import { parseConfig } from '@cpg/core/config';
import { z } from 'zod';

const HOUR = 3600_000;
const DAY = 24 * HOUR;

/**
 * The default retry schedule: delays doubling from 30 s, each at most 12 h, until the attempts
 * span 3 days. Delays are between attempts, so the first send is attempt 1 and the last failure
 * after `schedule.length + 1` attempts makes the delivery dead.
 */
export function defaultRetrySchedule(spanMs = 3 * DAY, firstMs = 30_000, capMs = 12 * HOUR): number[] {
  const out: number[] = [];
  let total = 0;
  for (let d = firstMs; total < spanMs; d = Math.min(d * 2, capMs)) {
    const step = Math.min(d, spanMs - total);
    out.push(step);
    total += step;
  }
  return out;
}

const msList = z
  .string()
  .regex(/^\d+(,\d+)*$/, 'a comma-separated list of milliseconds')
  .transform((s) => s.split(',').map(Number));

export const webhookConfigModel = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  /** Delays between attempts, in ms; tests use a short one. */
  WEBHOOK_RETRY_SCHEDULE_MS: msList.optional(),
  /** Fraction of each delay added or removed at random, so failed endpoints are not hit in lockstep. */
  WEBHOOK_RETRY_JITTER: z.coerce.number().min(0).max(1).default(0.2),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(10_000),
  WEBHOOK_CONCURRENCY_PER_ENDPOINT: z.coerce.number().int().min(1).max(100).default(4),
  /**
   * Sends in flight for one merchant across all its endpoints (cluster-wide, like the per-endpoint
   * cap): one merchant's slow endpoints hold at most this many of the sender's slots.
   */
  WEBHOOK_CONCURRENCY_PER_MERCHANT: z.coerce.number().int().min(1).max(1000).default(16),
  /** Sends in flight in one merchant-subgraph process. */
  WEBHOOK_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(1000).default(64),
  WEBHOOK_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
  /** An endpoint failing without a single success for this long is disabled. */
  WEBHOOK_DISABLE_AFTER_MS: z.coerce
    .number()
    .int()
    .min(1000)
    .default(5 * DAY),
  /**
   * Seals endpoint signing secrets at rest. Unset: derived from GATEWAY_SECRET (then rotating
   * that secret means rotating every endpoint's). Set it to decouple the two; changing it makes
   * the stored signing secrets unreadable just the same.
   */
  WEBHOOK_ENCRYPTION_KEY: z.string().min(16, 'WEBHOOK_ENCRYPTION_KEY: at least 16 characters').optional(),
  /** Default overlap of a rotation, during which the old secret still signs. */
  WEBHOOK_ROTATION_OVERLAP_SECONDS: z.coerce
    .number()
    .int()
    .min(0)
    .max(30 * 86400)
    .default(86400),
});

export interface WebhookConfig {
  production: boolean;
  retryScheduleMs: number[];
  jitter: number;
  timeoutMs: number;
  concurrencyPerEndpoint: number;
  concurrencyPerMerchant: number;
  maxInFlight: number;
  pollMs: number;
  disableAfterMs: number;
  rotationOverlapSeconds: number;
  /** How long a claimed delivery stays with its sender before another may take it. */
  leaseMs: number;
  /** WEBHOOK_ENCRYPTION_KEY when set; the caller falls back to GATEWAY_SECRET. */
  encryptionKey: string | undefined;
}

export function loadWebhookConfig(env: Record<string, string | undefined>, nodeEnv?: string): WebhookConfig {
  const c = parseConfig(webhookConfigModel, { ...env, ...(nodeEnv ? { NODE_ENV: nodeEnv } : {}) });
  return {
    production: c.NODE_ENV === 'production',
    retryScheduleMs: c.WEBHOOK_RETRY_SCHEDULE_MS ?? defaultRetrySchedule(),
    jitter: c.WEBHOOK_RETRY_JITTER,
    timeoutMs: c.WEBHOOK_TIMEOUT_MS,
    concurrencyPerEndpoint: c.WEBHOOK_CONCURRENCY_PER_ENDPOINT,
    concurrencyPerMerchant: c.WEBHOOK_CONCURRENCY_PER_MERCHANT,
    maxInFlight: c.WEBHOOK_MAX_IN_FLIGHT,
    pollMs: c.WEBHOOK_POLL_MS,
    disableAfterMs: c.WEBHOOK_DISABLE_AFTER_MS,
    rotationOverlapSeconds: c.WEBHOOK_ROTATION_OVERLAP_SECONDS,
    encryptionKey: c.WEBHOOK_ENCRYPTION_KEY,
    leaseMs: c.WEBHOOK_TIMEOUT_MS + 20_000,
  };
}

/** Delay before attempt `attempt + 1`, or null when `attempt` was the last one. */
export function retryDelayMs(config: Pick<WebhookConfig, 'retryScheduleMs' | 'jitter'>, attempt: number, random = Math.random): number | null {
  const base = config.retryScheduleMs[attempt - 1];
  if (base === undefined) return null;
  return Math.max(0, Math.round(base * (1 + config.jitter * (2 * random() - 1))));
}
