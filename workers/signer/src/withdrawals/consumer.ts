import { type Bus, PoisonMessageError, type RunningConsumer } from '@cpg/core/bus';
import { chainEventProblem } from '@cpg/chains/event-subject';
import { countEvent } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import type { IntakeStore } from './intake-store';
import type { WithdrawalProcessor } from './processor';

export const BATCH_CONSUMER = 'signer-withdrawal-batches';

/** withdrawal.verify_batch; a timeout (the withdrawal subgraph down) only delays the message. */
const VERIFY_TIMEOUT_MS = 5_000;

/**
 * withdrawal.batch.ready -> a row in signer.withdrawal_batches, stored before anything else
 * happens. A batch not stored yet is first confirmed by the withdrawal subgraph
 * (`withdrawal.verify_batch`: it exists there, may still be sent, and has exactly these
 * withdrawals, destinations and amounts); a refused one is logged, counted and terminated, never
 * stored, so nothing is paid for a forged or altered message. No answer is transient: the message
 * comes back later. Idempotent per batchId: a repeat (redelivery, or the withdrawal subgraph
 * publishing it again) inserts nothing and only asks the processor to look at the batch now, which
 * is how a WAITING_FUNDS batch is retried on request. The same batchId with other content is refused.
 */
export async function consumeBatches(bus: Bus, store: IntakeStore, processor: WithdrawalProcessor, log: Logger): Promise<RunningConsumer> {
  return bus.consume({
    durable: BATCH_CONSUMER,
    types: ['withdrawal.batch.ready'],
    handler: async (event) => {
      const d = event.data;
      // A stored batch was confirmed when it was stored; the content check below covers a repeat.
      if (!(await store.exists(d.batchId))) {
        const verdict = await bus
          .request(
            'withdrawal.verify_batch',
            { batchId: d.batchId, merchantId: d.merchantId, network: d.network, coinId: d.coinId, items: d.items },
            VERIFY_TIMEOUT_MS,
          )
          .catch((err: Error) => {
            // Transient: the bus gives the message back and it is asked again later.
            throw new Error(`withdrawal.verify_batch did not answer for batch ${d.batchId}: ${err.message}`);
          });
        if (!verdict.ok) {
          countEvent('signer.withdrawal_batch.refused');
          log.error(
            { batchId: d.batchId, merchantId: d.merchantId, network: d.network, coinId: d.coinId, reason: verdict.reason },
            'withdrawal batch refused: the withdrawal subgraph does not confirm it; nothing stored or paid',
          );
          throw new PoisonMessageError(`batch ${d.batchId} not confirmed by the withdrawal subgraph: ${verdict.reason}`);
        }
      }
      if (!(await store.insertNew(d))) {
        const row = await store.storedContent(d.batchId);
        const same =
          row && row.merchantId === d.merchantId && row.network === d.network && row.coinId === d.coinId && itemsKey(row.items) === itemsKey(d.items);
        if (!same) throw new PoisonMessageError(`batch ${d.batchId} was already received with other content; ignored`);
        // The same work: wake a batch that waits for funds; a batch in flight carries on as it is.
        await store.wakeUnsigned(d.batchId);
        log.info({ batchId: d.batchId }, 'withdrawal batch received again; same work');
      } else {
        log.info({ batchId: d.batchId, network: d.network, coinId: d.coinId, payouts: d.items.length }, 'withdrawal batch received');
      }
      processor.kick();
    },
  });
}

/** Order-preserving and independent of jsonb's key order. */
function itemsKey(items: { withdrawalId: string; toAddress: string; amount: string }[]): string {
  return JSON.stringify(items.map((i) => [i.withdrawalId, i.toAddress, i.amount]));
}

export const FUNDING_CONSUMER = 'signer-hot-wallet-funding';

/**
 * Coins arriving at a HOT wallet (chain.transfer.confirmed, which the tracker sends for HOT
 * addresses registered through the address service): the merchant's batches on that network
 * that wait for funds are looked at now instead of at their next periodic retry.
 */
export async function consumeHotWalletFunding(bus: Bus, store: IntakeStore, processor: WithdrawalProcessor): Promise<RunningConsumer> {
  return bus.consume({
    durable: FUNDING_CONSUMER,
    types: ['chain.transfer.confirmed'],
    handler: async (event, ctx) => {
      const { network, to } = event.data;
      // Only the subject's network is vouched for by the bus permissions (see event-subject).
      const problem = chainEventProblem(ctx.subject, network, () => true);
      if (problem) {
        countEvent('signer.chain_event.dropped');
        ctx.log.warn({ subject: ctx.subject, network, reason: problem }, 'chain event dropped');
        throw new PoisonMessageError(`chain event dropped: ${problem}`);
      }
      const woken = await store.wakeWaitingFor(network, to);
      if (woken) processor.kick();
    },
  });
}
