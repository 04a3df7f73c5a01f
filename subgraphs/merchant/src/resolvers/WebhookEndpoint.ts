import type { WebhookAttemptResolvers, WebhookDeliveryResolvers, WebhookEndpointResolvers } from '../generated/resolvers-types';
import { WEBHOOK_EVENTS } from '../webhooks/catalogue';

const live = (d: Date | null) => (d && new Date(d).getTime() > Date.now() ? d : null);

export const WebhookEndpoint: WebhookEndpointResolvers = {
  id: (e) => e.id,
  url: (e) => e.url,
  // No list stored means every event, including ones added to the catalogue later.
  events: (e) => e.events ?? [...WEBHOOK_EVENTS],
  enabled: (e) => e.enabled,
  createdAt: (e) => e.created_at,
  disabledReason: (e) => e.disabled_reason,
  previousSecretExpiresAt: (e) => (e.previous_secret_sealed ? live(e.previous_secret_expires_at) : null),
  deliveries: async (e, args, ctx) => {
    const page = await ctx.webhooks.deliveries(e.id, args.first, args.after);
    return { nodes: page.nodes, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  },
};

export const WebhookDelivery: WebhookDeliveryResolvers = {
  id: (d) => d.id,
  event: (d) => d.event_type,
  eventId: (d) => d.event_id,
  status: (d) => d.status,
  attempts: (d) => d.attempts,
  lastStatusCode: (d) => d.last_status_code,
  lastError: (d) => d.last_error,
  nextAttemptAt: (d) => d.next_attempt_at,
  createdAt: (d) => d.created_at,
  deliveredAt: (d) => d.delivered_at,
  payload: (d) => JSON.parse(d.body) as unknown,
  attemptLog: (d, _, ctx) => ctx.webhooks.attempts(d.id),
};

export const WebhookAttempt: WebhookAttemptResolvers = {
  attempt: (a) => a.attempt,
  startedAt: (a) => a.started_at,
  statusCode: (a) => a.status_code,
  latencyMs: (a) => a.latency_ms,
  responseExcerpt: (a) => a.response_excerpt,
  error: (a) => a.error,
};
