import type { ServiceDeps } from '@cpg/core/http';
import { applyOnce } from '@cpg/core/db';
import { PoisonMessageError } from '@cpg/core/bus';
import { SCHEMA } from '../../migrations';
import { LedgerService } from '../ledger/ledger-service';
import type { EntityManager } from '@cpg/core/db';
import { type DepositRef, type Posting, depositReference, depositSeen } from '../ledger/postings';
import { type DepositPostingRow, planCredit, planDecision, planReversal } from '../ledger/screening';

const CONSUMER = 'merchant-deposit-ledger';
const HOLD_CONSUMER = 'merchant-compliance-holds';

/**
 * Serialises the ledger effects of one deposit (chain credit vs compliance decisions, which
 * arrive on different consumers in either order) for the rest of the caller's transaction.
 */
async function lockDeposit(tx: EntityManager, d: DepositRef): Promise<void> {
  await tx.execute(`select pg_advisory_xact_lock(hashtext(?))`, [depositReference({ ...d, generation: 0 })]);
}

/** The deposit's postings (every generation), oldest first: what the screening rules read. */
async function historyOf(tx: EntityManager, d: DepositRef): Promise<DepositPostingRow[]> {
  return tx.execute<DepositPostingRow[]>(`select idempotency_key as key, kind from "${SCHEMA}".ledger_transactions where reference = ? order by id`, [
    depositReference(d),
  ]);
}

/**
 * Compliance decisions on deposits (`compliance.deposit_hold`): CLEAR (sender screened ALLOW) and
 * RELEASE (operator allowed a held one) make the credit available, HOLD and BLOCK keep it held; a
 * credit made before the decision sits in held (pending screening) and is moved, a decision made
 * before the credit leaves a marker the credit obeys (see ../ledger/screening). Each effect has its
 * own key and is planned under the deposit's lock, so a repeat, a replay or a credit racing in
 * from the other consumer posts once and in the right place.
 */
export async function startComplianceHoldConsumer({ bus, orm }: Pick<ServiceDeps, 'bus' | 'orm'>): Promise<void> {
  await bus.consume({
    durable: HOLD_CONSUMER,
    types: ['compliance.deposit_hold'],
    handler: async (event) => {
      const d = event.data;
      const deposit: DepositRef = { network: d.network, txHash: d.txHash, index: d.index };
      const input = { merchantId: d.merchantId, coinId: d.coinId, deposit, amount: BigInt(d.amount) };
      await applyOnce(orm.em.fork(), SCHEMA, HOLD_CONSUMER, event.id, async (tx) => {
        await lockDeposit(tx, deposit);
        const posting = planDecision(await historyOf(tx, deposit), input, d.action);
        if (posting) await new LedgerService(tx).post(posting);
      });
    },
  });
}

/** `network:txHash:index`, with `#generation` once a reorged transfer was mined again. */
export function parseDepositKey(key: string): DepositRef {
  const m = /^([a-z0-9-]+):([^:#]+):(\d+)(?:#(\d+))?$/.exec(key);
  if (!m) throw new PoisonMessageError(`bad deposit key ${key}`);
  return { network: m[1]!, txHash: m[2]!, index: Number(m[3]), generation: m[4] ? Number(m[4]) : 0 };
}

/**
 * Posts the ledger effect of each deposit the payment subgraph reports. The message marker makes
 * a redelivery a no-op, and every posting carries its own per-deposit key, so even the same
 * effect arriving under another message id (a replay after a reset) is posted once.
 */
export async function startDepositLedgerConsumer({ bus, orm }: ServiceDeps): Promise<void> {
  await bus.consume({
    durable: CONSUMER,
    types: ['payment.deposit_ledger'],
    handler: async (event) => {
      const d = event.data;
      const deposit = parseDepositKey(d.depositKey);
      const base = { merchantId: d.merchantId, coinId: d.coinId, deposit, amount: BigInt(d.amount) };
      await applyOnce(orm.em.fork(), SCHEMA, CONSUMER, event.id, async (tx) => {
        const ledger = new LedgerService(tx);
        // A compliance decision may arrive before or after the credit: one lock per deposit orders them.
        await lockDeposit(tx, deposit);
        const rows = await historyOf(tx, deposit);
        let posting: Posting | null = null;
        switch (d.kind) {
          case 'seen':
            posting = depositSeen(base);
            break;
          case 'confirmed':
          case 'unsolicited_confirmed':
            // Into available only once compliance has decided on the sender; else held until it does.
            posting = planCredit(rows, base, d.kind);
            break;
          case 'reorged':
            posting = planReversal(rows, base, d.wasConfirmed);
            break;
        }
        if (posting) await ledger.post(posting);
      });
    },
  });
  // Started here so the merchant server needs no change: both consumers post deposit effects.
  await startComplianceHoldConsumer({ bus, orm });
}
