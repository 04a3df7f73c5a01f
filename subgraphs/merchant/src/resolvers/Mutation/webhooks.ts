import { requireMerchant } from '@cpg/core/graphql';
import type { MerchantContext } from '../../context';

export async function createWebhookEndpoint(_: unknown, args: { input: { url: string; events?: string[] | null } }, ctx: MerchantContext) {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.webhooks.create(caller, args.input);
}
export async function deleteWebhookEndpoint(_: unknown, args: { id: string }, ctx: MerchantContext) {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.webhooks.delete(caller, args.id);
}
export async function redeliverWebhook(_: unknown, args: { deliveryId: string }, ctx: MerchantContext) {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.webhooks.redeliver(caller, args.deliveryId);
}
export async function rotateWebhookSecret(_: unknown, args: { id: string; overlapSeconds?: number | null }, ctx: MerchantContext) {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  const { endpoint, signingSecret } = await ctx.webhooks.rotate(caller, args.id, args.overlapSeconds);
  return { endpoint, signingSecret, previousSecretExpiresAt: endpoint.previous_secret_expires_at };
}
