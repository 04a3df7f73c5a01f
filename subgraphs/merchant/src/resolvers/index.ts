import { Merchant } from './Merchant';
import { me } from './Query/me';
import { createMerchant } from './Mutation/createMerchant';
import { createApiKey } from './Mutation/createApiKey';
import { revokeApiKey } from './Mutation/revokeApiKey';
import { updateMerchantSettings } from './Mutation/updateMerchantSettings';
import { createWebhookEndpoint, deleteWebhookEndpoint, redeliverWebhook } from './Mutation/webhooks';

export const resolvers = {
  Query: { me },
  Mutation: { createMerchant, createApiKey, revokeApiKey, updateMerchantSettings, createWebhookEndpoint, deleteWebhookEndpoint, redeliverWebhook },
  Merchant,
};
