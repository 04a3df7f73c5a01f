import type { Resolvers } from '../generated/resolvers-types';
import { Merchant } from './Merchant';
import { me } from './Query/me';
import { ledgerInvariants } from './Query/ledgerInvariants';
import { createMerchant } from './Mutation/createMerchant';
import { createApiKey } from './Mutation/createApiKey';
import { revokeApiKey } from './Mutation/revokeApiKey';
import { updateMerchantSettings } from './Mutation/updateMerchantSettings';
import { createWebhookEndpoint, deleteWebhookEndpoint, redeliverWebhook, rotateWebhookSecret } from './Mutation/webhooks';
import { WebhookAttempt, WebhookDelivery, WebhookEndpoint } from './WebhookEndpoint';

export const resolvers: Resolvers = {
  Query: { me, ledgerInvariants },
  Mutation: {
    createMerchant,
    createApiKey,
    revokeApiKey,
    updateMerchantSettings,
    createWebhookEndpoint,
    deleteWebhookEndpoint,
    redeliverWebhook,
    rotateWebhookSecret,
  },
  Merchant,
  WebhookEndpoint,
  WebhookDelivery,
  WebhookAttempt,
};
