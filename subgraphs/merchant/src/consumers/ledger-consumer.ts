import type { EventData, EventType } from '@cpg/core/bus';
import { applyOnce } from '@cpg/core/db';
import type { ServiceDeps } from '@cpg/core/http';
import { SCHEMA } from '../../migrations';
import { LedgerService } from '../ledger/ledger-service';
import type { Posting } from '../ledger/postings';

/** What one event does to the ledger: one posting, or steps of its own; null when it moves nothing. */
export type LedgerEffect = Posting | ((ledger: LedgerService) => Promise<void>) | null;

/**
 * Consumes one event type into the ledger. The effect is applied in the transaction that writes
 * the event's processed-message marker, so a redelivery is a no-op; an event without effect
 * leaves no marker either. A posting's own key still guards against the same effect arriving
 * under another message id (a replay after a reset).
 */
export async function consumeIntoLedger<T extends EventType>(
  { bus, orm }: Pick<ServiceDeps, 'bus' | 'orm'>,
  durable: string,
  type: T,
  effectOf: (data: EventData<T>) => LedgerEffect,
): Promise<void> {
  await bus.consume({
    durable,
    types: [type],
    handler: async (event) => {
      const effect = effectOf(event.data);
      if (effect === null) return;
      await applyOnce(orm.em.fork(), SCHEMA, durable, event.id, async (tx) => {
        const ledger = new LedgerService(tx);
        if (typeof effect === 'function') await effect(ledger);
        else await ledger.post(effect);
      });
    },
  });
}
