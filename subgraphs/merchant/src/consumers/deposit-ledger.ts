import type { ServiceDeps } from '@cpg/shared/http';
import { applyOnce } from '@cpg/shared/db';
import { PoisonMessageError } from '@cpg/shared/bus';
import { SCHEMA } from '../../migrations';
import { LedgerService } from '../ledger/ledger-service';
import type { EntityManager } from '@cpg/shared/db';
import {
  type DepositRef,
  complianceHoldCredited,
  complianceKey,
  complianceMarker,
  complianceReleaseCredited,
  depositConfirmed,
  depositConfirmedHeld,
  depositReference,
  depositReorgedAfterCredit,
  depositReorgedBeforeCredit,
  depositReorgedWhileHeld,
  depositSeen,
  unsolicitedCredit,
} from '../ledger/postings';

const CONSUMER = 'merchant-deposit-ledger';
const HOLD_CONSUMER = 'merchant-compliance-holds';

/**
 * Serialises the ledger effects of one deposit (chain credit vs compliance hold/release, which
 * arrive on different consumers in either order) for the rest of the caller's transaction.
 */
async function lockDeposit(tx: EntityManager, d: DepositRef): Promise<void> {
  await tx.execute(`select pg_advisory_xact_lock(hashtext(?))`, [depositReference({ ...d, generation: 0 })]);
}

async function keysOf(tx: EntityManager, d: DepositRef): Promise<Set<string>> {
  const rows = await tx.execute<{ k: string }[]>(`select idempotency_key as k from "${SCHEMA}".ledger_transactions where reference = ?`, [depositReference(d)]);
  return new Set(rows.map((r) => r.k));
}

/** Under a compliance hold: held and not (yet) released. */
function heldByCompliance(keys: Set<string>, d: DepositRef): boolean {
  return keys.has(complianceKey(d, 'compliance_hold')) && !keys.has(complianceKey(d, 'compliance_release'));
}

/** Some generation of the deposit is credited and not reversed. */
function credited(keys: Set<string>): boolean {
  for (const k of keys) if (k.endsWith(':credit') && !keys.has(`${k.slice(0, -':credit'.length)}:reversal`)) return true;
  return false;
}

/**
 * Compliance holds of deposits (`compliance.deposit_hold`): HOLD moves a credited deposit from
 * available to held, or, before the credit, records a marker so the credit goes to held; RELEASE
 * moves it back (or records that the credit may go to available); BLOCK keeps it held and posts
 * nothing. Each effect has its own key and is checked under the deposit's lock, so a repeat, a
 * replay or a credit racing in from the other consumer posts once and in the right place.
 */
export async function startComplianceHoldConsumer({ bus, orm }: Pick<ServiceDeps, 'bus' | 'orm'>): Promise<void> {
  await bus.consume({
    durable: HOLD_CONSUMER,
    types: ['compliance.deposit_hold'],
    handler: async (event) => {
      const d = event.data;
      if (d.action === 'BLOCK') return;
      const deposit: DepositRef = { network: d.network, txHash: d.txHash, index: d.index };
      const input = { merchantId: d.merchantId, coinId: d.coinId, deposit, amount: BigInt(d.amount) };
      await applyOnce(orm.em.fork(), SCHEMA, HOLD_CONSUMER, event.id, async (tx) => {
        await lockDeposit(tx, deposit);
        const keys = await keysOf(tx, deposit);
        const ledger = new LedgerService(tx);
        if (d.action === 'HOLD') {
          // Already held, or released before this (late) hold arrived: nothing to do.
          if (keys.has(complianceKey(deposit, 'compliance_hold')) || keys.has(complianceKey(deposit, 'compliance_release'))) return;
          await ledger.post(credited(keys) ? complianceHoldCredited(input) : complianceMarker(input, 'compliance_hold'));
          return;
        }
        if (keys.has(complianceKey(deposit, 'compliance_release'))) return;
        // Only a credit that went to held (or was moved there) comes back out of held.
        const fromHeld = credited(keys) && keys.has(complianceKey(deposit, 'compliance_hold'));
        await ledger.post(fromHeld ? complianceReleaseCredited(input) : complianceMarker(input, 'compliance_release'));
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
        // A compliance hold may arrive before or after the credit: one lock per deposit orders them.
        await lockDeposit(tx, deposit);
        const keys = await keysOf(tx, deposit);
        const held = heldByCompliance(keys, deposit);
        // Whether pending holds this deposit decides where the credit comes from.
        const wasSeen = async () => {
          const rows = await tx.execute<{ n: number }[]>(`select 1 as n from "${SCHEMA}".ledger_transactions where idempotency_key = ?`, [
            depositSeen(base).idempotencyKey,
          ]);
          return rows.length > 0;
        };
        switch (d.kind) {
          case 'seen':
            await ledger.post(depositSeen(base));
            return;
          case 'confirmed':
          case 'unsolicited_confirmed': {
            const creditKey = depositConfirmed({ ...base, wasSeen: false }).idempotencyKey;
            // Credited already (maybe into held, which a plain repeat would contradict): done.
            if (keys.has(creditKey)) return;
            const credit = { ...base, wasSeen: await wasSeen() };
            if (held) await ledger.post(depositConfirmedHeld(credit));
            else await ledger.post(d.kind === 'confirmed' ? depositConfirmed(credit) : unsolicitedCredit(credit));
            return;
          }
          case 'reorged':
            if (d.wasConfirmed && held && keys.has(depositConfirmed({ ...base, wasSeen: false }).idempotencyKey))
              await ledger.post(depositReorgedWhileHeld(base));
            else if (d.wasConfirmed) await ledger.post(depositReorgedAfterCredit(base));
            else if (await wasSeen()) await ledger.post(depositReorgedBeforeCredit(base));
            return;
        }
      });
    },
  });
  // Started here so the merchant server needs no change: both consumers post deposit effects.
  await startComplianceHoldConsumer({ bus, orm });
}
