import { randomUUID } from 'node:crypto';
import { applyOnce, deterministicId } from '@cpg/core/db';
import type { ServiceDeps } from '@cpg/core/http';
import { type Bus, type Envelope, type EventData, type RunningConsumer } from '@cpg/core/bus';
import { SCHEMA } from '../../migrations';
import { WEBHOOK_API_VERSION, type WebhookEventType, wants, webhookTypeOfPaymentEvent, webhookTypeOfWithdrawalEvent } from './catalogue';
import { type EndpointRow, W, liveEndpoints } from './store';

export const WEBHOOK_CONSUMER = 'merchant-webhooks';

type WebhookSource =
  | Envelope<EventData<'payment.updated'>>
  | Envelope<EventData<'withdrawal.updated'>>
  | Envelope<EventData<'compliance.alert'>>
  | Envelope<EventData<'address.cold_wallet_updated'>>;

/** What one event becomes: its webhook type, and how to read the body's data (null: nothing to send). */
function webhookOf(bus: Bus, event: WebhookSource): { type: WebhookEventType; merchantId: string; data: () => Promise<unknown | null> } | null {
  switch (event.type) {
    case 'payment.updated': {
      const e = event.data as EventData<'payment.updated'>;
      const type = webhookTypeOfPaymentEvent(e.event);
      if (!type) return null;
      return {
        type,
        merchantId: e.merchantId,
        data: async () => {
          const reply = await bus.request('payment.snapshot', { paymentId: e.paymentId, merchantId: e.merchantId }, 5000);
          // The status the event reported; the snapshot is read a moment later and may be ahead.
          return reply.found ? { ...reply.payment, eventStatus: e.status } : null;
        },
      };
    }
    case 'withdrawal.updated': {
      const e = event.data as EventData<'withdrawal.updated'>;
      const type = webhookTypeOfWithdrawalEvent(e.event);
      if (!type) return null;
      return {
        type,
        merchantId: e.merchantId,
        data: async () => {
          const reply = await bus.request('withdrawal.snapshot', { withdrawalId: e.withdrawalId, merchantId: e.merchantId }, 5000);
          return reply.found ? { ...reply.withdrawal, eventStatus: e.status } : null;
        },
      };
    }
    case 'compliance.alert': {
      const e = event.data as EventData<'compliance.alert'>;
      // The alert itself is the body: it carries everything the merchant may see of it.
      return { type: 'compliance.alert', merchantId: e.merchantId, data: async () => ({ object: 'compliance_alert', ...e }) };
    }
    case 'address.cold_wallet_updated': {
      // A new destination for the merchant's funds: announced so a registration the merchant did
      // not make is noticed during the cooling-off period.
      const e = event.data as EventData<'address.cold_wallet_updated'>;
      return {
        type: `cold_wallet.${e.event}`,
        merchantId: e.merchantId,
        data: async () => ({
          object: 'cold_wallet',
          addressId: e.addressId,
          networkId: e.networkId,
          address: e.address,
          status: e.status,
          usableFrom: e.usableFrom,
        }),
      };
    }
    default:
      return null;
  }
}

/**
 * Turns `payment.updated`, `withdrawal.updated` and `compliance.alert` events into delivery rows.
 * The rows and the message marker commit in one transaction (applyOnce), so a redelivered event
 * adds nothing and a crash before commit leaves the event unacked to be consumed again. The
 * entity's snapshot is read over request-reply before the transaction; if its subgraph does not
 * answer, the handler throws and the event is retried later.
 */
/** `onDeliveriesCreated` is called after each commit that added delivery rows; it must be idempotent (it only wakes the dispatcher). */
export async function startWebhookConsumer(
  deps: Pick<ServiceDeps, 'bus' | 'orm'>,
  onDeliveriesCreated: () => void,
  retryBaseMs?: number,
): Promise<RunningConsumer> {
  const { bus, orm } = deps;
  // One durable per source: a filter over all three would read every event of the stream.
  const sources = [
    { durable: WEBHOOK_CONSUMER, types: ['payment.updated'] as const },
    { durable: `${WEBHOOK_CONSUMER}-withdrawals`, types: ['withdrawal.updated'] as const },
    { durable: `${WEBHOOK_CONSUMER}-compliance`, types: ['compliance.alert'] as const },
    { durable: `${WEBHOOK_CONSUMER}-cold-wallets`, types: ['address.cold_wallet_updated'] as const },
  ];
  const consumers: RunningConsumer[] = [];
  for (const source of sources) {
    consumers.push(
      await bus.consume({
        durable: source.durable,
        types: [...source.types],
        ...(retryBaseMs !== undefined ? { retryBaseMs } : {}),
        handler: async (event, { log }) => {
          const hook = webhookOf(bus, event as WebhookSource);
          if (!hook) return;
          const { type, merchantId } = hook;
          // An endpoint hears of what happens after it exists, not of a replayed backlog.
          const occurred = new Date(event.occurredAt).getTime();
          const eligible = (e: EndpointRow) => wants(e.events, type) && new Date(e.created_at).getTime() <= occurred;
          const targets = (await liveEndpoints(orm.em.fork(), merchantId)).filter(eligible);
          if (!targets.length) return;
          const data = await hook.data();
          if (data === null) {
            log.warn({ type: event.type, merchantId }, 'event for an entity its subgraph does not know; no webhook');
            return;
          }
          const eventId = deterministicId(`webhook-event:${event.id}`);
          const body = JSON.stringify({ id: eventId, type, createdAt: event.occurredAt, apiVersion: WEBHOOK_API_VERSION, data });
          const created = await applyOnce(orm.em.fork(), SCHEMA, source.durable, event.id, async (tx) => {
            // Re-read inside the transaction: an endpoint deleted meanwhile gets nothing.
            for (const ep of (await liveEndpoints(tx, merchantId)).filter(eligible)) {
              await tx.execute(
                `insert into ${W}.webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, source_message_id, body, next_attempt_at)
                 values (?, ?, ?, ?, ?, ?, ?, now()) on conflict (source_message_id, endpoint_id) do nothing`,
                [randomUUID(), ep.id, ep.merchant_id, eventId, type, event.id, body],
              );
            }
          });
          if (created) onDeliveriesCreated();
        },
      }),
    );
  }
  return {
    stop: async () => {
      for (const c of consumers) await c.stop();
    },
  };
}
