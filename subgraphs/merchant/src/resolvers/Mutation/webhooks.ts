import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { MerchantContext } from '../../context';

// Webhook endpoints arrive with the webhook dispatcher; until then these say so plainly rather
// than accept an endpoint that would never be called.
const notYet = () => unavailable('webhook delivery is not available in this version yet');

export async function createWebhookEndpoint(_: unknown, __: unknown, ctx: MerchantContext): Promise<never> {
  requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  throw notYet();
}
export async function deleteWebhookEndpoint(_: unknown, __: unknown, ctx: MerchantContext): Promise<never> {
  requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  throw notYet();
}
export async function redeliverWebhook(_: unknown, __: unknown, ctx: MerchantContext): Promise<never> {
  requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  throw notYet();
}
