import type { NetworkConfig } from '@cpg/chains';
import { chainEventProblem } from '@cpg/chains/event-subject';
import { type Bus, PoisonMessageError, type RunningConsumer } from '@cpg/core/bus';
import { countEvent } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import type { Collector } from './collector';
import { reportReopened } from './step-runner';

/** The consumers that keep the collector's copies; planning waits for them to catch up at start. */
export const COPY_DURABLES = ['collector-addresses', 'collector-policies', 'collector-cold-wallets', 'collector-holds'];

/**
 * The collector's bus consumers: the copies of addresses, policies, cold wallet reviews and
 * holds, the confirmed deposits that mark a (merchant, coin) dirty (then `wake` plans it at
 * once), and reorgs of our own confirmed steps, which reopen them (plan-store reopenReorged).
 * Every handler is idempotent: redeliveries and replays change nothing.
 */
export async function startConsumers(
  bus: Pick<Bus, 'consume'>,
  collector: Collector,
  networks: Map<string, NetworkConfig>,
  wake: () => void,
): Promise<RunningConsumer[]> {
  const { copies, plans } = collector;
  return [
    await bus.consume({ durable: 'collector-addresses', types: ['address.created'], handler: (event) => copies.saveAddress(event.data) }),
    await bus.consume({ durable: 'collector-policies', types: ['collection.policy_updated'], handler: (event) => copies.savePolicy(event.data) }),
    await bus.consume({ durable: 'collector-cold-wallets', types: ['address.cold_wallet_updated'], handler: (event) => copies.saveColdWallet(event.data) }),
    await bus.consume({
      durable: 'collector-holds',
      types: ['compliance.deposit_hold'],
      handler: async (event) => {
        // A clean sender's deposit was never held here. Sweeping a deposit compliance has not
        // decided on yet is allowed: it stays at the merchant's own addresses and the books
        // keep it in held (see the merchant's deposit ledger) until it is cleared.
        if (event.data.action === 'CLEAR') return;
        await copies.saveHold(event.data);
      },
    }),
    await bus.consume({
      durable: 'collector-deposits',
      types: ['chain.transfer.confirmed'],
      filter: 'chain.*.transfer.confirmed.>',
      handler: async (event, ctx) => {
        const t = event.data;
        dropForeignChainEvent(ctx, t.network);
        // Our own sweeps and top-ups are internal: they never trigger a plan.
        if (t.internal || !networks.has(t.network)) return;
        await plans.markDirtyOnce(event.id, t);
        wake();
      },
    }),
    await bus.consume({
      durable: 'collector-reorgs',
      types: ['chain.transfer.reorged'],
      filter: 'chain.*.transfer.reorged.>',
      handler: async (event, ctx) => {
        const t = event.data;
        dropForeignChainEvent(ctx, t.network);
        // A step of ours (sweep, top-up: internal by nature) whose block a reorg took away.
        if (!t.internal || !networks.has(t.network)) return;
        const result = await plans.reopenReorged(t.network, t.txHash);
        reportReopened(ctx.log, t.txHash, result);
        if (result.reopened.length) wake();
      },
    }),
  ];
}

/** Only the subject's network is vouched for by the bus permissions (see event-subject): anything else is dropped for good. */
function dropForeignChainEvent(ctx: { subject: string; log: Logger }, network: string): void {
  const problem = chainEventProblem(ctx.subject, network, () => true);
  if (!problem) return;
  countEvent('collector.chain_event.dropped');
  ctx.log.warn({ subject: ctx.subject, network, reason: problem }, 'chain event dropped');
  throw new PoisonMessageError(`chain event dropped: ${problem}`);
}
