import type { MerchantContext } from '../context';
import { WEBHOOK_EVENTS } from '../webhooks/catalogue';
import type { AttemptRow, DeliveryRow, EndpointRow } from '../webhooks/store';

const live = (d: Date | null) => (d && new Date(d).getTime() > Date.now() ? d : null);

export const WebhookEndpoint = {
  id: (e: EndpointRow) => e.id,
  url: (e: EndpointRow) => e.url,
  // No list stored means every event, including ones added to the catalogue later.
  events: (e: EndpointRow) => e.events ?? [...WEBHOOK_EVENTS],
  enabled: (e: EndpointRow) => e.enabled,
  createdAt: (e: EndpointRow) => e.created_at,
  disabledReason: (e: EndpointRow) => e.disabled_reason,
  previousSecretExpiresAt: (e: EndpointRow) => (e.previous_secret_sealed ? live(e.previous_secret_expires_at) : null),
  deliveries: async (e: EndpointRow, args: { first?: number | null; after?: string | null }, ctx: MerchantContext) => {
    const page = await ctx.webhooks.deliveries(e.id, args.first, args.after);
    return { nodes: page.nodes, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
  },
};

export const WebhookDelivery = {
  id: (d: DeliveryRow) => d.id,
  event: (d: DeliveryRow) => d.event_type,
  eventId: (d: DeliveryRow) => d.event_id,
  status: (d: DeliveryRow) => d.status,
  attempts: (d: DeliveryRow) => d.attempts,
  lastStatusCode: (d: DeliveryRow) => d.last_status_code,
  lastError: (d: DeliveryRow) => d.last_error,
  nextAttemptAt: (d: DeliveryRow) => d.next_attempt_at,
  createdAt: (d: DeliveryRow) => d.created_at,
  deliveredAt: (d: DeliveryRow) => d.delivered_at,
  payload: (d: DeliveryRow) => JSON.parse(d.body) as unknown,
  attemptLog: (d: DeliveryRow, _: unknown, ctx: MerchantContext) => ctx.webhooks.attempts(d.id),
};

export const WebhookAttempt = {
  attempt: (a: AttemptRow) => a.attempt,
  startedAt: (a: AttemptRow) => a.started_at,
  statusCode: (a: AttemptRow) => a.status_code,
  latencyMs: (a: AttemptRow) => a.latency_ms,
  responseExcerpt: (a: AttemptRow) => a.response_excerpt,
  error: (a: AttemptRow) => a.error,
};
