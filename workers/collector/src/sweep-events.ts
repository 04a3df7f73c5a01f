import { createHash } from 'node:crypto';
import type { NetworkConfig } from '@cpg/chains';
import { type EntityManager, writeOutbox } from '@cpg/core/db';
import { SCHEMA } from '../migrations';
import type { PlanStep } from './domain/planner';

/**
 * The collector's events, written to the outbox inside the transaction that changes the step:
 * `collection.sweep_updated` per step and status, `collection.fee` once per final step. Each has
 * a deterministic id, so a repeat after a crash is the same outbox row.
 */

/** What an event says about a step (a stored row, or a step being stored). */
export interface StepFacts {
  id: string;
  plan_id: string;
  kind: PlanStep['kind'];
  coin_id: string;
  from_wallets: { addressId: string; address: string }[];
  to_address: string;
  amount: string;
  created_at: Date;
}

/** Called while a plan is stored (PLANNED) and when a step is broadcast or final; idempotent per step and status. */
export async function publishStep(
  tx: EntityManager,
  merchantId: string,
  network: NetworkConfig,
  s: StepFacts,
  status: 'PLANNED' | 'BROADCAST' | 'CONFIRMED' | 'FAILED',
  txHash: string | null,
  fee: string | null,
): Promise<void> {
  await writeOutbox(
    tx,
    SCHEMA,
    'collection.sweep_updated',
    {
      sweepId: s.id,
      planId: s.plan_id,
      merchantId,
      network: network.id,
      coinId: s.coin_id,
      kind: s.kind,
      fromAddresses: s.from_wallets.map((f) => f.address),
      toAddress: s.to_address,
      amount: s.amount,
      fee,
      feeCoinId: network.nativeCoin.id,
      txHash,
      status,
      createdAt: new Date(s.created_at).toISOString(),
    },
    // One event per step and status: a repeat after a crash is the same outbox row.
    { key: s.id, id: uuidOf(`${s.id}:${status}`) },
  );
}

/**
 * `collection.fee`: the network fee one step's transaction paid, once it is final on chain. One
 * outbox row per step (a deterministic id), and the merchant subgraph posts it under a per-step
 * key, so the fee is charged once whatever is repeated.
 */
export async function publishFee(
  tx: EntityManager,
  merchantId: string,
  network: NetworkConfig,
  s: { id: string; plan_id: string; kind: PlanStep['kind']; tx_hash: string | null },
  status: 'CONFIRMED' | 'FAILED',
  fee: string,
): Promise<void> {
  if (!s.tx_hash || BigInt(fee) <= 0n) return;
  await writeOutbox(
    tx,
    SCHEMA,
    'collection.fee',
    { stepId: s.id, planId: s.plan_id, merchantId, network: network.id, kind: s.kind, feeCoinId: network.nativeCoin.id, fee, txHash: s.tx_hash, status },
    { key: s.id, id: uuidOf(`${s.id}:fee`) },
  );
}

/** The facts of a step being stored, as its PLANNED event carries them. */
export function factsOf(s: PlanStep, planId: string): StepFacts {
  return {
    id: s.id,
    kind: s.kind,
    coin_id: s.coinId,
    from_wallets: s.from,
    to_address: s.to.address,
    amount: s.amount.toString(),
    created_at: new Date(),
    plan_id: planId,
  };
}

/** A UUID-shaped deterministic id for an outbox row (step and status). */
function uuidOf(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
