import { randomUUID } from 'node:crypto';
import { type ServiceDeps, countEvent } from '@cpg/core/http';
import { type EntityManager, applyOnce, deterministicId, writeOutbox } from '@cpg/core/db';
import { type EventData, PoisonMessageError } from '@cpg/core/bus';
import { chainEventProblem } from '@cpg/chains/event-subject';
import { SCHEMA } from '../../migrations';
import { type TransferKind, depositKey, matchPayment, normalTxHash, transition } from '../domain/deposits';
import type { PaymentStatus } from '../domain/status-machine';
import type { CoinCatalogue } from '../services/catalogue';
import { type DepositRow, T, depositsOf, lockPayment, reduceAndStore } from '../services/rows';

const SETTINGS_CONSUMER = 'payment-merchant-settings';
const TRANSFER_CONSUMER = 'payment-chain-transfers';

/**
 * Payment settings belong to the merchant subgraph; this keeps a local copy so creating a payment
 * needs no call across services. An older event never overwrites a newer one.
 */
async function startSettingsConsumer({ bus, orm }: ServiceDeps): Promise<void> {
  await bus.consume({
    durable: SETTINGS_CONSUMER,
    types: ['merchant.created', 'merchant.settings_updated'],
    handler: async (event) => {
      const at = new Date(event.occurredAt);
      await applyOnce(orm.em.fork(), SCHEMA, SETTINGS_CONSUMER, event.id, async (tx) => {
        if (event.type === 'merchant.created') {
          await tx.execute(
            `insert into ${T}.merchant_settings (merchant_id, payment_expiry_minutes, underpayment_tolerance, updated_at) values (?, 60, '0', ?) on conflict do nothing`,
            [event.data.merchantId, at],
          );
          return;
        }
        const s = (event.data as EventData<'merchant.settings_updated'>).settings;
        const minutes = typeof s.paymentExpiryMinutes === 'number' && Number.isInteger(s.paymentExpiryMinutes) ? s.paymentExpiryMinutes : null;
        const tolerance = typeof s.underpaymentTolerance === 'string' ? s.underpaymentTolerance : null;
        await tx.execute(
          `insert into ${T}.merchant_settings (merchant_id, payment_expiry_minutes, underpayment_tolerance, updated_at) values (?, coalesce(?::int, 60), coalesce(?, '0'), ?)
           on conflict (merchant_id) do update set
             payment_expiry_minutes = coalesce(?::int, merchant_settings.payment_expiry_minutes),
             underpayment_tolerance = coalesce(?, merchant_settings.underpayment_tolerance),
             updated_at = excluded.updated_at
           where merchant_settings.updated_at <= excluded.updated_at`,
          [event.data.merchantId, minutes, tolerance, at, minutes, tolerance],
        );
      });
    },
  });
}

type Transfer = EventData<'chain.transfer.seen'>;

interface Candidate {
  id: string;
  status: PaymentStatus;
  coin_id: string;
  customer_id: string | null;
  created_at: Date;
}

/**
 * One chain event, in one transaction: the payment row is locked first (the same order as
 * cancelPayment and the sweeper), then the deposit is written, the status machine rerun, and
 * `payment.updated` and `payment.deposit_ledger` recorded in the outbox.
 */
export async function applyTransfer(tx: EntityManager, catalogue: CoinCatalogue, kind: TransferKind, t: Transfer, now = new Date()): Promise<void> {
  const entry = catalogue.coin(t.coinId);
  // Only registered coins of the network are deposits.
  if (!entry || entry.network.id !== t.network) return;
  const txHash = normalTxHash(t.txHash);
  const amount = BigInt(t.amount);
  const belowMinimum = amount < entry.coin.minDeposit;

  const existingRows = await tx.execute<DepositRow[]>(`select * from ${T}.deposits where network_id = ? and tx_hash = ? and idx = ?`, [
    t.network,
    txHash,
    t.index,
  ]);
  let paymentId: string | null;
  if (existingRows[0]) {
    paymentId = existingRows[0].payment_id;
  } else {
    if (kind === 'reorged') return;
    const candidates = await tx.execute<Candidate[]>(
      `select id, status, coin_id, customer_id, created_at from ${T}.payments where address_id = ? and merchant_id = ? order by created_at desc limit 20`,
      [t.addressId, t.merchantId],
    );
    const match = matchPayment(
      candidates.map((c) => ({ id: c.id, status: c.status, coinId: c.coin_id, customerId: c.customer_id, createdAt: new Date(c.created_at) })),
      t.coinId,
    );
    paymentId = match?.id ?? null;
  }

  const payment = paymentId ? await lockPayment(tx, paymentId) : null;
  const previousDeposits = payment ? await depositsOf(tx, payment.id) : [];
  const [existing] = await tx.execute<DepositRow[]>(`select * from ${T}.deposits where network_id = ? and tx_hash = ? and idx = ? for update`, [
    t.network,
    txHash,
    t.index,
  ]);
  const step = transition(existing ? { status: existing.status, generation: existing.generation } : null, kind, { unsolicited: !payment, belowMinimum });

  let deposit: DepositRow;
  if (!existing) {
    if (!step.next) return;
    [deposit] = (await tx.execute<DepositRow[]>(
      `insert into ${T}.deposits (id, payment_id, merchant_id, address_id, network_id, tx_hash, idx, from_address, coin_id, amount, confirmations, block_number, block_hash,
         status, generation, below_minimum, detected_at, confirmed_at, updated_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?::numeric, ?, ?, ?, ?, ?, ?, ?, ?, ?) returning *`,
      [
        randomUUID(),
        paymentId,
        t.merchantId,
        t.addressId,
        t.network,
        txHash,
        t.index,
        t.from,
        t.coinId,
        t.amount,
        t.confirmations,
        t.blockHeight,
        t.blockHash,
        step.next.status,
        step.next.generation,
        belowMinimum,
        now,
        step.next.status === 'CONFIRMED' ? now : null,
        now,
      ],
    )) as [DepositRow];
  } else {
    // Depth and block move even when the status does not (a deeper confirmation, a re-mined block).
    const next = step.next ?? { status: existing.status, generation: existing.generation };
    [deposit] = (await tx.execute<DepositRow[]>(
      `update ${T}.deposits set status = ?, generation = ?, confirmations = greatest(?, case when ? = 'REORGED' then 0 else confirmations end),
         block_number = coalesce(?, block_number), block_hash = coalesce(?, block_hash),
         confirmed_at = case when ? = 'CONFIRMED' then coalesce(confirmed_at, ?) when ? = 'REORGED' then null else confirmed_at end, updated_at = ?
       where id = ? returning *`,
      [next.status, next.generation, t.confirmations, next.status, t.blockHeight, t.blockHash, next.status, now, next.status, now, existing.id],
    )) as [DepositRow];
    if (!step.next) return;
  }

  if (payment) {
    await reduceAndStore(tx, payment, await depositsOf(tx, payment.id), previousDeposits, now);
  }
  if (step.ledger) {
    const key = depositKey(t.network, txHash, t.index, deposit.generation);
    await writeOutbox(
      tx,
      SCHEMA,
      'payment.deposit_ledger',
      {
        merchantId: t.merchantId,
        paymentId,
        coinId: t.coinId,
        amount: t.amount,
        kind: step.ledger.kind,
        depositKey: key,
        wasConfirmed: step.ledger.wasConfirmed,
      },
      // One message per deposit effect: a replay of the same effect is dropped by JetStream too.
      { key: t.merchantId, id: deterministicId(`${key}:${step.ledger.kind}`) },
    );
  }
}

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

type HoldEvent = EventData<'compliance.deposit_hold'>;

/**
 * A compliance hold, release or block of one deposit: recorded per (alert, action), then the
 * payment's `on_hold` flag is recomputed from every record of its deposits and the status machine
 * rerun, which emits `on_hold` (webhook payment.on_hold) or the status it returns to. Throws while
 * the deposit is not recorded yet (the chain event may still be on its way): the bus retries.
 * A transfer matched to no payment has nothing to hold here; the ledger holds its credit.
 */
export async function applyComplianceHold(tx: EntityManager, h: HoldEvent, now = new Date()): Promise<void> {
  // A clean sender: the customer has paid either way; only the merchant's ledger waits for it.
  if (h.action === 'CLEAR') return;
  const txHash = normalTxHash(h.txHash);
  const [dep] = await tx.execute<DepositRow[]>(`select * from ${T}.deposits where network_id = ? and tx_hash = ? and idx = ?`, [h.network, txHash, h.index]);
  if (!dep) throw new Error(`deposit ${h.network}:${txHash}:${h.index} is not recorded yet`);
  const payment = dep.payment_id ? await lockPayment(tx, dep.payment_id) : null;
  await tx.execute(
    `insert into ${T}.compliance_holds (alert_id, action, payment_id, network_id, tx_hash, idx, at) values (?, ?, ?, ?, ?, ?, ?) on conflict do nothing`,
    [h.alertId, h.action, dep.payment_id, h.network, txHash, h.index, now],
  );
  if (!payment) return;
  const [{ held }] = (await tx.execute<{ held: boolean }[]>(
    `select exists (select 1 from ${T}.compliance_holds h where h.payment_id = ? and h.action in ('HOLD','BLOCK')
       and not exists (select 1 from ${T}.compliance_holds r where r.alert_id = h.alert_id and r.action = 'RELEASE')) as held`,
    [payment.id],
  )) as [{ held: boolean }];
  if (held === payment.on_hold) return;
  await tx.execute(`update ${T}.payments set on_hold = ?, updated_at = ? where id = ?`, [held, now, payment.id]);
  await reduceAndStore(tx, { ...payment, on_hold: held }, await depositsOf(tx, payment.id), undefined, now);
}

const HOLD_CONSUMER = 'payment-compliance-holds';

async function startComplianceHoldConsumer({ bus, orm }: ServiceDeps, onCommitted: () => void): Promise<void> {
  await bus.consume({
    durable: HOLD_CONSUMER,
    types: ['compliance.deposit_hold'],
    handler: async (event) => {
      const applied = await applyOnce(orm.em.fork(), SCHEMA, HOLD_CONSUMER, event.id, (tx) => applyComplianceHold(tx, event.data));
      if (applied) onCommitted();
    },
  });
}

/** `networks`: the ids of every configured network (enabled or not). */
export async function startConsumers(deps: ServiceDeps, catalogue: CoinCatalogue, networks: ReadonlySet<string>): Promise<void> {
  await startSettingsConsumer(deps);
  await startTransferConsumer(
    deps,
    catalogue,
    (id) => networks.has(id),
    () => deps.relay.kick(),
  );
  await startComplianceHoldConsumer(deps, () => deps.relay.kick());
}
