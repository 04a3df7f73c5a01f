/**
 * Merchant subgraph settings, read from the environment once at start (besides the shared
 * subgraph ones: PORT, DATABASE_URL, NATS_URL, GATEWAY_SECRET, ...): the webhook delivery settings
 * documented in webhooks/config.ts (WEBHOOK_*).
 */
import { type WebhookConfig, loadWebhookConfig } from './webhooks/config';

/** What the merchant server reads from its environment, once at start. */
export interface MerchantServerSettings {
  webhooks: WebhookConfig;
}

/**
 * `nodeEnv` is the shared subgraph config's NODE_ENV (in production, webhook URLs may not point at loopback).
 * `env` is for tests and embedders; a process passes nothing and its own environment is read.
 */
export function loadMerchantServerSettings(nodeEnv: string | undefined, env: Record<string, string | undefined> = process.env): MerchantServerSettings {
  return { webhooks: loadWebhookConfig(env, nodeEnv) };
}
