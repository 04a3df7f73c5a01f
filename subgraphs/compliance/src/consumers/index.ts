import { type ServiceDeps, countEvent } from '@cpg/core/http';
import { applyOnce } from '@cpg/core/db';
import { type EventData, PoisonMessageError, normalTxHash } from '@cpg/core/bus';
import { chainEventProblem } from '@cpg/chains/event-subject';
import { SCHEMA } from '../../migrations';
import { addressKey } from '../domain/address';
import { clearDeposit, raiseAlert } from '../services/alerts';
import { type ScreeningService, T } from '../services/screening';

const TRANSFER_CONSUMER = 'compliance-chain-transfers';

type Transfer = EventData<'chain.transfer.seen'>;

export function depositSubjectRef(network: string, txHash: string, index: number): string {
  return `deposit:${network}:${normalTxHash(txHash)}:${index}`;
}

/**
 * Screens the sender of each transfer to a merchant's address, once per transfer: on `seen`, or on
 * `confirmed` when the tracker never reported it seen. Every screening decides the deposit's funds
 * in the same transaction: REVIEW or BLOCK raises an alert and a `compliance.deposit_hold` HOLD,
 * ALLOW a CLEAR (the merchant's credit is not spendable before one of them). A BLOCKed sender also
 * marks the receiving address as exposed (the exposure rule's one hop). While this subgraph is
 * down or slow its durable consumer keeps the transfers, and the credits stay held until then.
 */
export async function screenTransfer(
  deps: Pick<ServiceDeps, 'orm'>,
  screening: ScreeningService,
  t: Transfer,
  messageId: string,
  now = new Date(),
): Promise<boolean> {
  const txHash = normalTxHash(t.txHash);
  const subjectRef = depositSubjectRef(t.network, txHash, t.index);
  const em = deps.orm.em.fork();
  const done = await em.execute<{ n: number }[]>(`select 1 as n from ${T}.transfers where network_id = ? and tx_hash = ? and idx = ?`, [
    t.network,
    txHash,
    t.index,
  ]);
  if (done.length) return false;
  const amount = BigInt(t.amount);
  const pre = await screening.prefetch({ networkId: t.network, address: t.from, coinId: t.coinId, amount });
  return applyOnce(em, SCHEMA, TRANSFER_CONSUMER, messageId, async (tx) => {
    // Taken first: a concurrent delivery of the other kind (seen/confirmed) waits here, then skips.
    await tx.execute(`select pg_advisory_xact_lock(hashtext(?))`, [subjectRef]);
    const again = await tx.execute<{ n: number }[]>(`select 1 as n from ${T}.transfers where network_id = ? and tx_hash = ? and idx = ?`, [
      t.network,
      txHash,
      t.index,
    ]);
    if (again.length) return;
    const { row } = await screening.screen(
      tx,
      {
        merchantId: t.merchantId,
        networkId: t.network,
        address: t.from,
        direction: 'IN',
        coinId: t.coinId,
        amount,
        subjectRef,
        actor: 'chain.transfer',
        transfer: { txHash, index: t.index },
      },
      pre,
      now,
    );
    await tx.execute(
      `insert into ${T}.transfers (network_id, tx_hash, idx, from_address, from_key, to_address, merchant_id, address_id, coin_id, amount, usd_cents, assessment_id, seen_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::numeric, ?::bigint, ?, ?)`,
      [t.network, txHash, t.index, t.from, t.from ? addressKey(t.from) : null, t.to, t.merchantId, t.addressId, t.coinId, t.amount, row.usd_cents, row.id, now],
    );
    if (row.decision === 'BLOCK' && t.from) {
      await tx.execute(
        `insert into ${T}.exposures (network_id, address_key, address, source_address, tx_hash, created_at) values (?, ?, ?, ?, ?, ?) on conflict do nothing`,
        [t.network, addressKey(t.to), t.to, t.from, txHash, now],
      );
    }
    const deposit = { network: t.network, txHash, index: t.index, addressId: t.addressId, coinId: t.coinId, amount: t.amount };
    await raiseAlert(tx, row, deposit, now);
    await clearDeposit(tx, row, deposit);
  });
}

/** `networks`: the ids of every configured network; a chain event for another one is dropped. */
export async function startConsumers(deps: ServiceDeps, screening: ScreeningService, networks: ReadonlySet<string>): Promise<void> {
  await deps.bus.consume({
    durable: TRANSFER_CONSUMER,
    types: ['chain.transfer.seen', 'chain.transfer.confirmed'],
    handler: async (event, ctx) => {
      // Only the subject's network is vouched for by the bus permissions (see event-subject).
      const problem = chainEventProblem(ctx.subject, event.data.network, (id) => networks.has(id));
      if (problem) {
        countEvent('compliance.chain_event.dropped');
        ctx.log.warn({ subject: ctx.subject, network: event.data.network, reason: problem }, 'chain event dropped');
        throw new PoisonMessageError(`chain event dropped: ${problem}`);
      }
      // Sweeps, top-ups and change between our own addresses are not deposits.
      if (event.data.internal) return;
      const applied = await screenTransfer(deps, screening, event.data, event.id);
      if (applied) deps.relay.kick();
    },
  });
}
