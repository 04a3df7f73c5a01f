import type { CoinConfig, NetworkConfig } from '@cpg/chains';
import { type EntityManager, applyOnce, writeOutbox } from '@cpg/core/db';
import { SCHEMA } from '../migrations';
import type { Plan, PlanStep } from './domain/planner';
import { type AwaitingEntry, type AwaitingWire, awaitingChanged, fromWire, toWire } from './domain/waiting';
import { factsOf, publishFee, publishStep } from './sweep-events';

/**
 * The collector plan store: the dirty marks, plans and their steps, and what waits per
 * (merchant, coin). Every state change is one transaction with the event it publishes (through
 * the outbox); step moves are conditional on the status read, so two instances never both move
 * a step. Raw SQL with row types.
 */

export type StepStatus = 'PLANNED' | 'SIGNED' | 'BROADCAST' | 'CONFIRMED' | 'FAILED' | 'SKIPPED';

export interface StepRow {
  id: string;
  plan_id: string;
  seq: number;
  kind: PlanStep['kind'];
  action: PlanStep['action'];
  coin_id: string;
  from_role: PlanStep['fromRole'];
  from_wallets: { addressId: string; address: string }[];
  inputs: { txid: string; vout: number; value: string; addressId: string }[] | null;
  to_address: string;
  to_role: string;
  amount: string;
  sweep_all: boolean;
  fee_estimate: string;
  after_steps: string[];
  status: StepStatus;
  raw_tx: string | null;
  tx_hash: string | null;
  fee: string | null;
  attempts: number;
  created_at: Date;
}

export interface PlanRow {
  id: string;
  merchant_id: string;
  network_id: string;
}

/** What a step move writes besides the status; `mined`: the transaction is final on chain (its fee is charged). */
export interface StepPatch {
  raw?: string;
  txHash?: string;
  fee?: string;
  amount?: string;
  error?: string | null;
  mined?: boolean;
}

export class PlanStore {
  constructor(private readonly root: EntityManager) {}

  private get em(): EntityManager {
    return this.root.fork();
  }

  // --- what to plan ------------------------------------------------------------------------------

  /** (merchant, network, coin) with USER addresses and no open plan; only the dirty ones when asked. */
  candidates(onlyDirty: boolean): Promise<{ merchant_id: string; network_id: string; coin_id: string }[]> {
    return this.em.execute<{ merchant_id: string; network_id: string; coin_id: string }[]>(
      `select distinct a.merchant_id, n.network_id, c.coin_id
         from "${SCHEMA}".addresses a, unnest(a.networks) as n(network_id), unnest(a.coins) as c(coin_id)
        where a.type = 'USER' and split_part(c.coin_id, ':', 1) = n.network_id
          and not exists (select 1 from "${SCHEMA}".plans p where p.merchant_id = a.merchant_id and p.coin_id = c.coin_id and p.status = 'OPEN')
          ${onlyDirty ? `and exists (select 1 from "${SCHEMA}".dirty d where d.merchant_id = a.merchant_id and d.coin_id = c.coin_id)` : ''}
        order by 1, 2, 3`,
    );
  }

  /** A confirmed deposit to a USER address (or one not known here yet) marks its pair dirty; once per event. */
  async markDirtyOnce(eventId: string, t: { addressId: string; merchantId: string; network: string; coinId: string }): Promise<void> {
    await applyOnce(this.root, SCHEMA, 'collector-deposits', eventId, async (tx) => {
      const [a] = await tx.execute<{ type: string }[]>(`select type from "${SCHEMA}".addresses where address_id = ?`, [t.addressId]);
      if (a && a.type !== 'USER') return;
      await tx.execute(`insert into "${SCHEMA}".dirty (merchant_id, network_id, coin_id) values (?, ?, ?) on conflict do nothing`, [
        t.merchantId,
        t.network,
        t.coinId,
      ]);
    });
  }

  /** A pair planned with nothing worth doing leaves the fast lane; a mark set after `markedBefore` stays. */
  async clearDirty(merchantId: string, coinId: string, markedBefore: Date): Promise<void> {
    await this.em.execute(`delete from "${SCHEMA}".dirty where merchant_id = ? and coin_id = ? and since < ?`, [merchantId, coinId, markedBefore]);
  }

  // --- plans ---------------------------------------------------------------------------------------

  /** Stores a plan with its steps and their PLANNED events; false when another pass opened one for the pair first. */
  async savePlan(merchantId: string, network: NetworkConfig, plan: Plan): Promise<boolean> {
    try {
      await this.em.transactional(async (tx) => {
        await tx.execute(`insert into "${SCHEMA}".plans (id, merchant_id, network_id, coin_id, status, summary) values (?, ?, ?, ?, 'OPEN', ?)`, [
          plan.planId,
          merchantId,
          network.id,
          plan.coinId,
          // Waiting entries carry their figures as bigint base units: stored as decimal strings.
          JSON.stringify({ toHot: plan.toHot, toRest: plan.toRest, fees: plan.fees, waiting: plan.waiting }, (_k, v: unknown) =>
            typeof v === 'bigint' ? v.toString() : v,
          ),
        ]);
        for (const s of plan.steps) {
          // Which USER address each spent output belongs to (the signer needs its key).
          const inputs = s.inputs?.map((u) => ({ txid: u.txid, vout: u.vout, value: u.value.toString(), addressId: u.addressId }));
          await tx.execute(
            `insert into "${SCHEMA}".steps (id, plan_id, seq, kind, action, coin_id, from_role, from_wallets, inputs, to_address, to_role, amount, sweep_all, fee_estimate, after_steps, status)
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::uuid[], 'PLANNED')`,
            [
              s.id,
              plan.planId,
              s.seq,
              s.kind,
              s.action,
              s.coinId,
              s.fromRole,
              JSON.stringify(s.from),
              inputs ? JSON.stringify(inputs) : null,
              s.to.address,
              s.toRole,
              s.amount.toString(),
              s.sweepAll,
              s.fee.toString(),
              `{${s.after.join(',')}}`,
            ],
          );
          // A dust step may well be skipped: it is reported from its broadcast on.
          if (s.action !== 'dust') await publishStep(tx, merchantId, network, factsOf(s, plan.planId), 'PLANNED', null, null);
        }
        await tx.execute(`delete from "${SCHEMA}".dirty where merchant_id = ? and coin_id = ?`, [merchantId, plan.coinId]);
      });
    } catch (err) {
      if (/plans_one_open|duplicate key/i.test((err as Error).message)) return false;
      throw err;
    }
    return true;
  }

  openPlans(): Promise<PlanRow[]> {
    return this.em.execute<PlanRow[]>(`select id, merchant_id, network_id from "${SCHEMA}".plans where status = 'OPEN' order by created_at`);
  }

  async planOf(planId: string): Promise<{ merchant_id: string; coin_id: string }> {
    const [p] = await this.em.execute<{ merchant_id: string; coin_id: string }[]>(`select merchant_id, coin_id from "${SCHEMA}".plans where id = ?`, [planId]);
    return p!;
  }

  /** Ends an open plan and marks its pair dirty, so what still waits (and why) is reported afresh at the next tick. */
  async finish(planId: string, status: 'DONE' | 'FAILED'): Promise<void> {
    await this.em.transactional(async (tx) => {
      await tx.execute(`update "${SCHEMA}".plans set status = ?, finished_at = now() where id = ? and status = 'OPEN'`, [status, planId]);
      await tx.execute(
        `insert into "${SCHEMA}".dirty (merchant_id, network_id, coin_id) select merchant_id, network_id, coin_id from "${SCHEMA}".plans where id = ? on conflict do nothing`,
        [planId],
      );
    });
  }

  // --- steps ---------------------------------------------------------------------------------------

  stepsOf(planId: string): Promise<StepRow[]> {
    return this.em.execute<StepRow[]>(
      `select id, plan_id, seq, kind, action, coin_id, from_role, from_wallets, inputs, to_address, to_role, amount::text, sweep_all, fee_estimate::text,
              after_steps::text[] as after_steps, status, raw_tx, tx_hash, fee::text, attempts, created_at
         from "${SCHEMA}".steps where plan_id = ? order by seq`,
      [planId],
    );
  }

  /** A step with its plan's merchant and network, as the signer's check compares it. */
  async stepWithPlan(stepId: string): Promise<(StepRow & { merchant_id: string; network_id: string }) | undefined> {
    const [row] = await this.em.execute<(StepRow & { merchant_id: string; network_id: string })[]>(
      `select s.id, s.action, s.coin_id, s.from_wallets, s.inputs, s.to_address, s.amount::text, s.sweep_all, s.status, p.merchant_id, p.network_id
         from "${SCHEMA}".steps s join "${SCHEMA}".plans p on p.id = s.plan_id where s.id = ?`,
      [stepId],
    );
    return row;
  }

  /**
   * Moves a step from the status it was read with to `to`, with its event when broadcast or
   * final and its fee when mined; false when another instance moved it first.
   */
  moveStep(merchantId: string, network: NetworkConfig, s: StepRow, to: StepStatus, patch: StepPatch): Promise<boolean> {
    return this.em.transactional(async (tx) => {
      const updated = await tx.execute<{ id: string }[]>(
        `update "${SCHEMA}".steps set status = ?, raw_tx = coalesce(?, raw_tx), tx_hash = coalesce(?, tx_hash), fee = coalesce(?, fee), amount = coalesce(?::numeric, amount),
           error = ?, attempts = 0, updated_at = now() where id = ? and status = ? returning id`,
        [to, patch.raw ?? null, patch.txHash ?? null, patch.fee ?? null, patch.amount ?? null, patch.error ?? null, s.id, s.status],
      );
      if (updated.length === 0) return false;
      if (to === 'BROADCAST' || to === 'CONFIRMED' || to === 'FAILED') {
        await publishStep(
          tx,
          merchantId,
          network,
          { ...s, amount: patch.amount ?? s.amount },
          to,
          patch.txHash ?? s.tx_hash,
          to === 'CONFIRMED' || patch.mined ? (patch.fee ?? s.fee) : null,
        );
      }
      // Final on chain (confirmed, or mined and reverted: its gas is spent either way): the fee goes to the ledger.
      if (patch.mined && (to === 'CONFIRMED' || to === 'FAILED')) await publishFee(tx, merchantId, network, s, to, patch.fee ?? s.fee ?? '0');
      return true;
    });
  }

  /** Transactions of the merchant's steps on the network confirmed within the last `withinMs` (reopenVanished checks them). */
  async recentlyConfirmed(merchantId: string, networkId: string, withinMs: number): Promise<string[]> {
    const rows = await this.em.execute<{ tx_hash: string }[]>(
      `select distinct s.tx_hash from "${SCHEMA}".steps s join "${SCHEMA}".plans p on p.id = s.plan_id
        where p.merchant_id = ? and p.network_id = ? and s.status = 'CONFIRMED' and s.tx_hash is not null
          and s.updated_at > now() - (? * interval '1 millisecond')`,
      [merchantId, networkId, withinMs],
    );
    return rows.map((r) => r.tx_hash);
  }

  /**
   * Called when the tracker reports a transfer of ours reorged out of the chain: every CONFIRMED
   * step with that transaction goes back to BROADCAST and its plan reopens, so the next pass finds
   * the transaction unknown and sends the same signed bytes again (same nonce or inputs, same fee:
   * the fee already charged stays right once it is mined again). Reopening the plan also keeps the
   * planner from signing a second transaction for the same coins meanwhile. A step whose coin has
   * another plan open is left alone and returned as a conflict (the two could spend one nonce).
   * Idempotent: a repeat finds nothing CONFIRMED with that hash.
   */
  async reopenReorged(
    networkId: string,
    txHash: string,
  ): Promise<{ reopened: { stepId: string; planId: string }[]; conflicts: { stepId: string; planId: string }[] }> {
    return this.em.transactional(async (tx) => {
      const rows = await tx.execute<{ id: string; plan_id: string; plan_status: string; open_other: boolean }[]>(
        `select s.id, s.plan_id, p.status as plan_status,
                exists (select 1 from "${SCHEMA}".plans o where o.merchant_id = p.merchant_id and o.coin_id = p.coin_id and o.status = 'OPEN' and o.id <> p.id) as open_other
           from "${SCHEMA}".steps s join "${SCHEMA}".plans p on p.id = s.plan_id
          where p.network_id = ? and lower(s.tx_hash) = lower(?) and s.status = 'CONFIRMED'
          for update of s, p`,
        [networkId, txHash],
      );
      const reopened: { stepId: string; planId: string }[] = [];
      const conflicts: { stepId: string; planId: string }[] = [];
      for (const r of rows) {
        if (r.open_other) {
          conflicts.push({ stepId: r.id, planId: r.plan_id });
          continue;
        }
        await tx.execute(`update "${SCHEMA}".steps set status = 'BROADCAST', attempts = 0, error = null, updated_at = now() where id = ?`, [r.id]);
        if (r.plan_status !== 'OPEN') await tx.execute(`update "${SCHEMA}".plans set status = 'OPEN', finished_at = null where id = ?`, [r.plan_id]);
        reopened.push({ stepId: r.id, planId: r.plan_id });
      }
      return { reopened, conflicts };
    });
  }

  /** Counts one more failed try of a step; returns how many in a row. */
  async countFailedAttempt(stepId: string, message: string): Promise<number> {
    const [row] = await this.em.execute<{ attempts: number }[]>(
      `update "${SCHEMA}".steps set attempts = attempts + 1, error = ?, updated_at = now() where id = ? returning attempts`,
      [message.slice(0, 1000), stepId],
    );
    return row?.attempts ?? 0;
  }

  // --- what waits ----------------------------------------------------------------------------------

  async awaiting(merchantId: string, coinId: string): Promise<AwaitingEntry[]> {
    const [row] = await this.em.execute<{ entries: AwaitingWire[] }[]>(`select entries from "${SCHEMA}".awaiting where merchant_id = ? and coin_id = ?`, [
      merchantId,
      coinId,
    ]);
    return (row?.entries ?? []).map(fromWire);
  }

  /**
   * Replaces what waits for (merchant, coin) and publishes collection.awaiting_updated, when it
   * changed; returns whether it did and what was there before.
   */
  replaceAwaiting(
    merchantId: string,
    network: NetworkConfig,
    coin: CoinConfig,
    entries: AwaitingEntry[],
  ): Promise<{ changed: boolean; previous: AwaitingEntry[] }> {
    return this.em.transactional(async (tx) => {
      const [row] = await tx.execute<{ entries: AwaitingWire[] }[]>(
        `select entries from "${SCHEMA}".awaiting where merchant_id = ? and coin_id = ? for update`,
        [merchantId, coin.id],
      );
      const previous = (row?.entries ?? []).map(fromWire);
      if (!row && entries.length === 0) return { changed: false, previous };
      if (row && !awaitingChanged(previous, entries)) return { changed: false, previous };
      const wire = entries.map(toWire);
      await tx.execute(
        `insert into "${SCHEMA}".awaiting (merchant_id, coin_id, network_id, entries, updated_at) values (?, ?, ?, ?::jsonb, now())
         on conflict (merchant_id, coin_id) do update set entries = excluded.entries, updated_at = now()`,
        [merchantId, coin.id, network.id, JSON.stringify(wire)],
      );
      await writeOutbox(
        tx,
        SCHEMA,
        'collection.awaiting_updated',
        { merchantId, networkId: network.id, coinId: coin.id, feeCoinId: network.nativeCoin.id, entries: wire, at: new Date().toISOString() },
        { key: merchantId },
      );
      return { changed: true, previous };
    });
  }
}
