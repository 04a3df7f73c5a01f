import { type ServiceDeps, copyMerchantSettings, countEvent } from '@cpg/core/http';
import { applyOnce } from '@cpg/core/db';
import { PoisonMessageError } from '@cpg/core/bus';
import { chainEventProblem } from '@cpg/chains/event-subject';
import { SCHEMA } from '../../migrations';
import type { TransferKind } from '../domain/deposits';
import type { CoinCatalogue } from '../services/catalogue';
import { applyComplianceHold, applyTransfer } from '../services/deposits';
import { insertDefaultSettings, upsertSettings } from '../services/settings-store';

export { applyComplianceHold, applyTransfer };

const SETTINGS_CONSUMER = 'payment-merchant-settings';
const TRANSFER_CONSUMER = 'payment-chain-transfers';
const HOLD_CONSUMER = 'payment-compliance-holds';

/**
 * Chain events, one at a time. An event whose subject names another network than its payload (the
 * bus permits the tracker per network subject, not per payload) or a network this gateway does not
 * configure is dropped: logged, counted and terminated, never credited.
 */
async function startTransferConsumer(
  { bus, orm }: ServiceDeps,
  catalogue: CoinCatalogue,
  knownNetwork: (id: string) => boolean,
  onCommitted: () => void,
): Promise<void> {
  await bus.consume({
    durable: TRANSFER_CONSUMER,
    types: ['chain.transfer.seen', 'chain.transfer.confirmed', 'chain.transfer.reorged'],
    handler: async (event, ctx) => {
      const problem = chainEventProblem(ctx.subject, event.data.network, knownNetwork);
      if (problem) {
        countEvent('payment.chain_event.dropped');
        ctx.log.warn({ subject: ctx.subject, network: event.data.network, reason: problem }, 'chain event dropped');
        throw new PoisonMessageError(`chain event dropped: ${problem}`);
      }
      if (event.data.internal) return;
      const kind = event.type.slice('chain.transfer.'.length) as TransferKind;
      const applied = await applyOnce(orm.em.fork(), SCHEMA, TRANSFER_CONSUMER, event.id, (tx) => applyTransfer(tx, catalogue, kind, event.data));
      if (applied) onCommitted();
    },
  });
}

/** Compliance decisions on deposits: the one consumer of them that moves money (see applyComplianceHold). */
async function startComplianceHoldConsumer({ bus, orm }: ServiceDeps, catalogue: CoinCatalogue, onCommitted: () => void): Promise<void> {
  await bus.consume({
    durable: HOLD_CONSUMER,
    types: ['compliance.deposit_hold'],
    handler: async (event) => {
      const applied = await applyOnce(orm.em.fork(), SCHEMA, HOLD_CONSUMER, event.id, (tx) => applyComplianceHold(tx, catalogue, event.data));
      if (applied) onCommitted();
    },
  });
}

/** `networks`: the ids of every configured network (enabled or not). */
export async function startConsumers(deps: ServiceDeps, catalogue: CoinCatalogue, networks: ReadonlySet<string>): Promise<void> {
  // Expiry and tolerance are the merchant's; a local copy spares creating a payment a call across services.
  await copyMerchantSettings(deps, { durable: SETTINGS_CONSUMER, schema: SCHEMA, insertDefaults: insertDefaultSettings, upsert: upsertSettings });
  await startTransferConsumer(
    deps,
    catalogue,
    (id) => networks.has(id),
    () => deps.relay.kick(),
  );
  await startComplianceHoldConsumer(deps, catalogue, () => deps.relay.kick());
}
