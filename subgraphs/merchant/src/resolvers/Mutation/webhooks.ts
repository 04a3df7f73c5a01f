import { requireMerchant } from '@cpg/core/graphql';
import type { MutationResolvers } from '../../generated/resolvers-types';

export const createWebhookEndpoint: MutationResolvers['createWebhookEndpoint'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.webhooks.create(caller, args.input);
};
export const deleteWebhookEndpoint: MutationResolvers['deleteWebhookEndpoint'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.webhooks.delete(caller, args.id);
};
export const redeliverWebhook: MutationResolvers['redeliverWebhook'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  return ctx.webhooks.redeliver(caller, args.deliveryId);
};
export const rotateWebhookSecret: MutationResolvers['rotateWebhookSecret'] = async (_, args, ctx) => {
  const caller = requireMerchant(ctx.identity, 'SETTINGS_WRITE');
  const { endpoint, signingSecret } = await ctx.webhooks.rotate(caller, args.id, args.overlapSeconds);
  return { endpoint, signingSecret, previousSecretExpiresAt: endpoint.previous_secret_expires_at };
};
