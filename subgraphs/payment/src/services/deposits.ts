import { type EventData, normalTxHash } from '@cpg/core/bus';
import { type EntityManager, deterministicId, writeOutbox } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { type LedgerState, type LedgerStep, planChainEffect, planDecisionEffect } from '../domain/deposit-ledger';
import { type TransferKind, depositKey, matchPayment, transition } from '../domain/deposits';
import type { CoinCatalogue } from './catalogue';
import {
  type TransferId,
  decisionsOf,
  findDeposit,
  insertDeposit,
  paymentCandidates,
  paymentHeld,
  recordComplianceHold,
  recordDecision,
  setLedgerState,
  setOnHold,
  updateDeposit,
} from './deposit-store';
import { type DepositRow, depositsOf, lockPayment } from './payment-store';
import { reduceAndStore } from './rows';

type Transfer = EventData<'chain.transfer.seen'>;
type HoldEvent = EventData<'compliance.deposit_hold'>;

/**
 * Tells the merchant ledger one effect of the deposit (`payment.deposit_ledger`) and records that
 * it did, in the caller's transaction. One message per (deposit generation, effect): a replay of
 * the same effect is dropped by JetStream too, and the ledger's key makes it post once anyway.
 */
async function tellLedger(tx: EntityManager, deposit: DepositRow, step: LedgerStep): Promise<void> {
  const key = depositKey(deposit.network_id, deposit.tx_hash, deposit.idx, deposit.generation);
  await writeOutbox(
    tx,
    SCHEMA,
    'payment.deposit_ledger',
    {
      merchantId: deposit.merchant_id,
      paymentId: deposit.payment_id,
      amount: deposit.amount,
      deposit: { network: deposit.network_id, txHash: deposit.tx_hash, index: deposit.idx, coinId: deposit.coin_id, generation: deposit.generation },
      ...step.effect,
    },
    { key: deposit.merchant_id, id: deterministicId(`${key}:${step.effect.effect}`) },
  );
  if (step.next !== deposit.ledger) await setLedgerState(tx, deposit.id, step.next);
}

/**
 * One chain event, in one transaction: the payment row is locked first (the same order as
 * cancelPayment and the sweeper), then the deposit is written, the status machine rerun, and
 * `payment.updated` and the deposit's ledger effect recorded in the outbox.
 */
export async function applyTransfer(tx: EntityManager, catalogue: CoinCatalogue, kind: TransferKind, t: Transfer, now = new Date()): Promise<void> {
  const entry = catalogue.coin(t.coinId);
  // Only registered coins of the network are deposits.
  if (!entry || entry.network.id !== t.network) return;
  const id: TransferId = { network: t.network, txHash: normalTxHash(t.txHash), index: t.index };
  const amount = BigInt(t.amount);
  const belowMinimum = amount < entry.coin.minDeposit;

  const known = await findDeposit(tx, id);
  let paymentId: string | null;
  if (known) {
    paymentId = known.payment_id;
  } else {
    if (kind === 'reorged') return;
    const candidates = await paymentCandidates(tx, t.addressId, t.merchantId);
    const match = matchPayment(
      candidates.map((c) => ({ id: c.id, status: c.status, coinId: c.coin_id, customerId: c.customer_id, createdAt: new Date(c.created_at) })),
      t.coinId,
    );
    paymentId = match?.id ?? null;
  }

  const payment = paymentId ? await lockPayment(tx, paymentId) : null;
  const previousDeposits = payment ? await depositsOf(tx, payment.id) : [];
  const existing = await findDeposit(tx, id, true);
  const step = transition(existing ? { status: existing.status, generation: existing.generation } : null, kind, { unsolicited: !payment, belowMinimum });

  let deposit: DepositRow;
  if (!existing) {
    if (!step.next) return;
    deposit = await insertDeposit(tx, t, id.txHash, paymentId, step.next, belowMinimum, now);
  } else {
    deposit = await updateDeposit(tx, existing.id, step.next ?? { status: existing.status, generation: existing.generation }, t, now);
    if (!step.next) return;
  }

  if (payment) {
    await reduceAndStore(tx, payment, await depositsOf(tx, payment.id), previousDeposits, now);
  }
  // A re-mined transfer is a new generation: the ledger has been told nothing about it yet.
  const told: LedgerState = existing && existing.generation === deposit.generation ? existing.ledger : 'none';
  if (told !== deposit.ledger) await setLedgerState(tx, deposit.id, told);
  const ledger = step.ledger && planChainEffect(told, step.ledger.kind, await decisionsOf(tx, id));
  if (ledger) await tellLedger(tx, { ...deposit, ledger: told }, ledger);
}

/**
 * A compliance decision on one deposit, under the deposit's row lock: its ledger effect is told
 * (./deposit-ledger decides whether it moves the credit), and for a hold, release or block a
 * record per (alert, action), from which the payment's `on_hold` flag is recomputed and the status
 * machine rerun, which emits `on_hold` (webhook payment.on_hold) or the status it returns to.
 * Throws while the deposit is not recorded yet (the chain event may still be on its way): the bus
 * retries. A clean sender of a coin that is no deposit here (not registered) has nothing to clear.
 */
export async function applyComplianceHold(tx: EntityManager, catalogue: CoinCatalogue, h: HoldEvent, now = new Date()): Promise<void> {
  const id: TransferId = { network: h.network, txHash: normalTxHash(h.txHash), index: h.index };
  const known = await findDeposit(tx, id);
  if (!known) {
    if (h.action === 'CLEAR' && catalogue.coin(h.coinId)?.network.id !== h.network) return;
    throw new Error(`deposit ${h.network}:${id.txHash}:${h.index} is not recorded yet`);
  }
  const payment = known.payment_id ? await lockPayment(tx, known.payment_id) : null;
  const deposit = (await findDeposit(tx, id, true))!;
  const decisions = await decisionsOf(tx, id);
  const ledger = planDecisionEffect(deposit.ledger, decisions, h.action);
  await recordDecision(tx, id, h.action, now);
  if (ledger) await tellLedger(tx, deposit, ledger);
  // A clean sender: the customer has paid either way; only the merchant's ledger waited for it.
  if (h.action === 'CLEAR') return;
  await recordComplianceHold(tx, h.alertId, h.action, deposit.payment_id, id, now);
  if (!payment) return;
  const held = await paymentHeld(tx, payment.id);
  if (held === payment.on_hold) return;
  await setOnHold(tx, payment.id, held, now);
  await reduceAndStore(tx, { ...payment, on_hold: held }, await depositsOf(tx, payment.id), undefined, now);
}
