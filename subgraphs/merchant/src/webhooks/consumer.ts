import { randomUUID } from 'node:crypto';
import { applyOnce, deterministicId } from '@cpg/shared/db';
import type { ServiceDeps } from '@cpg/shared/http';
import { type RunningConsumer } from '@cpg/shared/bus';
import { requestPaymentSnapshot } from '@cpg/shared/webhooks';
import { SCHEMA } from '../../migrations';
import { WEBHOOK_API_VERSION, wants, webhookTypeOfPaymentEvent } from './catalogue';
import { type EndpointRow, W, liveEndpoints } from './store';

export const WEBHOOK_CONSUMER = 'merchant-webhooks';

/**
 * Turns `payment.updated` events into delivery rows. The rows and the message marker commit in
 * one transaction (applyOnce), so a redelivered event adds nothing and a crash before commit
 * leaves the event unacked to be consumed again. The payment's snapshot is read over request-reply
 * before the transaction; if the payment subgraph does not answer, the handler throws and the
 * event is retried later.
 */
/** `onDeliveriesCreated` is called after each commit that added delivery rows; it must be idempotent (it only wakes the dispatcher). */
export async function startWebhookConsumer(
  deps: Pick<ServiceDeps, 'bus' | 'orm'>,
  onDeliveriesCreated: () => void,
  retryBaseMs?: number,
): Promise<RunningConsumer> {
  const { bus, orm } = deps;
  return bus.consume({
    durable: WEBHOOK_CONSUMER,
    types: ['payment.updated'],
    ...(retryBaseMs !== undefined ? { retryBaseMs } : {}),
    handler: async (event, { log }) => {
      const type = webhookTypeOfPaymentEvent(event.data.event);
      if (!type) return;
      // An endpoint hears of what happens after it exists, not of a replayed backlog.
      const occurred = new Date(event.occurredAt).getTime();
      const eligible = (e: EndpointRow) => wants(e.events, type) && new Date(e.created_at).getTime() <= occurred;
      const targets = (await liveEndpoints(orm.em.fork(), event.data.merchantId)).filter(eligible);
      if (!targets.length) return;
      const reply = await requestPaymentSnapshot(bus, { paymentId: event.data.paymentId, merchantId: event.data.merchantId });
      if (!reply.found) {
        log.warn({ paymentId: event.data.paymentId }, 'payment.updated for a payment its subgraph does not know; no webhook');
        return;
      }
      const eventId = deterministicId(`webhook-event:${event.id}`);
      const body = JSON.stringify({
        id: eventId,
        type,
        createdAt: event.occurredAt,
        apiVersion: WEBHOOK_API_VERSION,
        // The status the event reported; the snapshot is read a moment later and may be ahead.
        data: { ...reply.payment, eventStatus: event.data.status },
      });
      const created = await applyOnce(orm.em.fork(), SCHEMA, WEBHOOK_CONSUMER, event.id, async (tx) => {
        // Re-read inside the transaction: an endpoint deleted meanwhile gets nothing.
        for (const ep of (await liveEndpoints(tx, event.data.merchantId)).filter(eligible)) {
          await tx.execute(
            `insert into ${W}.webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, source_message_id, body, next_attempt_at)
             values (?, ?, ?, ?, ?, ?, ?, now()) on conflict (source_message_id, endpoint_id) do nothing`,
            [randomUUID(), ep.id, ep.merchant_id, eventId, type, event.id, body],
          );
        }
      });
      if (created) onDeliveriesCreated();
    },
  });
}
