import type { NetworkConfig } from '@cpg/chains';
import { ChainError } from '@cpg/chains';
import type { Bus, RpcRequest } from '@cpg/core/bus';
import { countEvent } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import type { CollectorChain } from './chain';
import type { AddressRow, CopyStore } from './copy-store';
import { type Ratio, withinRatio } from './domain/planner';
import { plannerPolicy } from './domain/policy';
import { type StepClaim, stepMismatch } from './domain/verify-step';
import type { PlanRow, PlanStore, StepPatch, StepRow, StepStatus } from './plan-store';
import { storedPolicy } from './planning';

/**
 * How long after a step is confirmed the planner still checks that its transaction is on the
 * chain (reopenVanished): past every supported network's reorg window at its block time.
 */
const REORG_WATCH_MS = 15 * 60_000;
/** A step that failed this many times in a row is given up (FAILED); its plan then ends. */
export const MAX_ATTEMPTS = 20;
const SIGNER_TIMEOUT_MS = 20_000;
/**
 * How the signer says no to a step for good (not the merchant's own wallet, not a step persisted
 * here): its reply error starts with `refused:` (see `collector.verify_step`). Retrying cannot help.
 */
const SIGNER_REFUSAL = /^rpc signer\.collect_sign failed: refused: /;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Logs and counts what reopenReorged did: a reopened step is resent; a conflict needs the operator. */
export function reportReopened(
  log: Logger,
  txHash: string,
  r: { reopened: { stepId: string; planId: string }[]; conflicts: { stepId: string; planId: string }[] },
): void {
  for (const step of r.reopened) {
    countEvent('collector.step.reorged');
    log.warn(
      { stepId: step.stepId, planId: step.planId, txHash },
      'a confirmed collection step is no longer on the chain; its signed transaction is sent again',
    );
  }
  for (const c of r.conflicts) {
    countEvent('collector.step.reorged_conflict');
    log.error(
      { stepId: c.stepId, planId: c.planId, txHash },
      'a confirmed collection step is no longer on the chain while another plan of its coin is open: not resent; reconcile this coin',
    );
  }
}

export interface CollectorHooks {
  /** Called after a step's status changed and was committed (tests stop the collector here). */
  afterStep?: (step: { id: string; planId: string; kind: string; action: string; status: StepStatus }) => Promise<void> | void;
}

export interface StepRunnerDeps {
  copies: CopyStore;
  plans: PlanStore;
  bus: Pick<Bus, 'request'>;
  kickRelay: () => void;
  log: Logger;
  networks: Map<string, NetworkConfig>;
  chainFor: (network: NetworkConfig) => CollectorChain;
  hooks?: CollectorHooks;
  /** True once the collector is stopping: no new move is started. */
  stopped: () => boolean;
}

/**
 * Carries out stored plans step by step: asks the signer to sign (it holds the keys; we send
 * what was stored), stores the signed transaction before broadcasting it, and follows it on chain
 * until it is final. Also answers the signer's check that a request is one of our steps.
 */
export class StepRunner {
  /** Step transactions already deeper than their network's reorg window (reopenVanished skips them). */
  private readonly reorgSafe = new Set<string>();

  constructor(private readonly deps: StepRunnerDeps) {}

  /** Moves every runnable step of a plan as far as it can go now; returns the plan's status. */
  async advance(plan: PlanRow): Promise<'OPEN' | 'DONE' | 'FAILED'> {
    const network = this.deps.networks.get(plan.network_id);
    if (!network) return 'OPEN';
    const chain = this.deps.chainFor(network);
    for (;;) {
      if (this.deps.stopped()) return 'OPEN';
      const steps = await this.deps.plans.stepsOf(plan.id);
      const done = new Set(steps.filter((s) => s.status === 'CONFIRMED' || s.status === 'SKIPPED').map((s) => s.id));
      const failed = new Set(steps.filter((s) => s.status === 'FAILED').map((s) => s.id));
      if (done.size === steps.length) return this.finish(plan.id, 'DONE');
      let progressed = false;
      let blocked = 0;
      for (const s of steps) {
        if (done.has(s.id) || failed.has(s.id)) continue;
        if (s.after_steps.some((a) => failed.has(a))) {
          blocked += 1;
          continue;
        }
        if (!s.after_steps.every((a) => done.has(a))) continue;
        const before = s.status;
        const after = await this.step(plan.merchant_id, network, chain, s);
        if (after !== before) {
          progressed = true;
          await this.deps.hooks?.afterStep?.({ id: s.id, planId: plan.id, kind: s.kind, action: s.action, status: after });
          if (this.deps.stopped()) return 'OPEN';
        }
      }
      const inFlight = steps.filter((s) => !done.has(s.id) && !failed.has(s.id)).length;
      if (failed.size > 0 && inFlight === blocked) return this.finish(plan.id, 'FAILED');
      if (!progressed) return 'OPEN';
    }
  }

  /**
   * Called before planning a merchant's coins on a network. A step confirmed lately whose
   * transaction the chain no longer has mined (a reorg deeper than the network's confirmations,
   * possibly before the tracker ever saw the block, so no reorged event comes) is reopened as
   * reopenReorged does: the same signed transaction goes out again and no second one is signed
   * for the same nonce or coins. True when one was: the caller then plans nothing this time.
   * Read-mostly and idempotent; a chain that cannot be read throws (planning waits, as it must).
   */
  async reopenVanished(merchantId: string, network: NetworkConfig): Promise<boolean> {
    const hashes = await this.deps.plans.recentlyConfirmed(merchantId, network.id, REORG_WATCH_MS);
    if (hashes.length === 0) return false;
    const chain = this.deps.chainFor(network);
    const safeDepth = Math.max(network.confirmations, network.maxReorgDepth);
    if (this.reorgSafe.size > 50_000) this.reorgSafe.clear(); // bounded: at worst a few more lookups
    let reopened = false;
    for (const hash of hashes) {
      // Deeper than any reorg the network is configured for: never asked about again.
      if (this.reorgSafe.has(hash)) continue;
      const state = await chain.txState(hash);
      if (state.state === 'mined') {
        if (state.confirmations >= safeDepth) this.reorgSafe.add(hash);
        continue;
      }
      const r = await this.deps.plans.reopenReorged(network.id, hash);
      reportReopened(this.deps.log, hash, r);
      reopened ||= r.reopened.length > 0 || r.conflicts.length > 0;
    }
    return reopened;
  }

  /**
   * Answers `collector.verify_step`: called by the signer while it handles a collect_sign this
   * collector sent, before it signs. Null when the request is exactly a stored step still waiting
   * for its signature; else why not. Read-only, so any replica may answer and repeats are harmless.
   */
  async verifyStep(requestId: string, claim: StepClaim): Promise<string | null> {
    if (!UUID.test(requestId)) return 'no such step';
    const row = await this.deps.plans.stepWithPlan(requestId);
    return stepMismatch(
      row
        ? {
            merchantId: row.merchant_id,
            networkId: row.network_id,
            status: row.status,
            coinId: row.action === 'delegate' || row.action === 'undelegate' ? tronResourceCoinId(row.network_id, row.action) : row.coin_id,
            action: row.action,
            from: row.from_wallets,
            inputs: row.inputs,
            to: row.to_address,
            amount: BigInt(row.amount),
            sweepAll: row.sweep_all,
          }
        : null,
      claim,
    );
  }

  private async finish(planId: string, status: 'DONE' | 'FAILED'): Promise<'DONE' | 'FAILED'> {
    await this.deps.plans.finish(planId, status);
    this.deps.log.info({ planId, status }, 'sweep plan finished');
    return status;
  }

  /** One move of one step: sign, broadcast, or look at the chain. Returns the new status. */
  private async step(merchantId: string, network: NetworkConfig, chain: CollectorChain, s: StepRow): Promise<StepStatus> {
    try {
      switch (s.status) {
        case 'PLANNED':
          return await this.sign(merchantId, network, chain, s);
        case 'SIGNED': {
          // Signed before a crash perhaps already sent: look it up first, never sign again.
          const state = await chain.txState(s.tx_hash!);
          if (state.state === 'unknown') await chain.broadcast(s.tx_hash!, s.raw_tx!);
          return await this.setStatus(merchantId, network, s, 'BROADCAST');
        }
        case 'BROADCAST': {
          const state = await chain.txState(s.tx_hash!);
          if (state.state === 'unknown') {
            // Dropped from the mempool (or a node without it): send the same transaction again.
            await chain.broadcast(s.tx_hash!, s.raw_tx!);
            return s.status;
          }
          if (state.state === 'pending') return s.status;
          if (state.confirmations < Math.max(1, network.confirmations)) return s.status;
          // The fee the transaction actually paid (EVM: from the receipt; Bitcoin family: the signed one, exact).
          const fee = (state.fee ?? BigInt(s.fee ?? '0')).toString();
          if (!state.ok) return await this.setStatus(merchantId, network, s, 'FAILED', { error: 'the transaction failed on chain', fee, mined: true });
          return await this.setStatus(merchantId, network, s, 'CONFIRMED', { fee, mined: true });
        }
        default:
          return s.status;
      }
    } catch (err) {
      if (err instanceof LostRace) return s.status;
      const message = (err as Error).message ?? String(err);
      if (s.status === 'PLANNED' && SIGNER_REFUSAL.test(message)) {
        // Nothing was signed; asking again gets the same answer. The plan ends with this step.
        countEvent('collector.step.refused_by_signer');
        this.deps.log.error({ stepId: s.id, planId: s.plan_id, merchantId, err: message }, 'the signer refused this sweep step; it is failed for good');
        try {
          return await this.setStatus(merchantId, network, s, 'FAILED', { error: message.slice(0, 1000) });
        } catch (e) {
          if (e instanceof LostRace) return s.status;
          throw e;
        }
      }
      return this.failedAttempt(s, err, merchantId, network);
    }
  }

  private async setStatus(merchantId: string, network: NetworkConfig, s: StepRow, to: StepStatus, patch: StepPatch = {}): Promise<StepStatus> {
    // Another instance moved the step first: leave it to that one.
    if (!(await this.deps.plans.moveStep(merchantId, network, s, to, patch))) throw new LostRace(`step ${s.id} was moved by someone else`);
    if (to === 'BROADCAST' || to === 'CONFIRMED' || to === 'FAILED') this.deps.kickRelay();
    return to;
  }

  private async failedAttempt(s: StepRow, err: unknown, merchantId: string, network: NetworkConfig): Promise<StepStatus> {
    const message = (err as Error).message ?? String(err);
    const attempts = await this.deps.plans.countFailedAttempt(s.id, message);
    this.deps.log.warn({ stepId: s.id, status: s.status, attempts, err: message }, 'sweep step did not go through; will retry');
    if (attempts >= MAX_ATTEMPTS) return this.setStatus(merchantId, network, s, 'FAILED', { error: message.slice(0, 1000) });
    return s.status;
  }

  /** The address with its key reference, asked of the address service once and kept. */
  private async describe(addressId: string): Promise<AddressRow> {
    const row = await this.deps.copies.address(addressId);
    if (row?.described) return row;
    const d = await this.deps.bus.request('address.describe', { addressId }, 5_000);
    if (!d.found) throw new Error(`address ${addressId} is unknown to the address service`);
    await this.deps.copies.saveDescription(addressId, d);
    return {
      ...(row ?? ({} as AddressRow)),
      derivation_index: d.derivationIndex,
      signer_key_id: d.signerKeyId,
      described: true,
      type: d.type,
      address: d.address,
    };
  }

  private async sign(merchantId: string, network: NetworkConfig, chain: CollectorChain, s: StepRow): Promise<StepStatus> {
    let request: RpcRequest<'signer.collect_sign'>;
    if (s.action === 'consolidate') {
      const inputs = [];
      for (const u of s.inputs ?? []) {
        const owner = await this.describe(u.addressId);
        if (owner.derivation_index === null) throw new Error(`address ${u.addressId} has no account index`);
        inputs.push({ txid: u.txid, vout: u.vout, index: owner.derivation_index });
      }
      request = { kind: 'consolidation', merchantId, networkId: network.id, requestId: s.id, inputs, outputs: [{ to: s.to_address, amount: s.amount }] };
    } else {
      const from = s.from_wallets[0]!;
      const owner = await this.describe(from.addressId);
      if (s.action === 'dust') {
        // Worth it only if what is left after the fee passes the plan's ratio.
        const [left] = await chain.balances([from.address], network.nativeCoin);
        const fee = BigInt(s.fee_estimate);
        if (left! <= fee || !withinRatio(fee, left! - fee, await this.ratioOfPlan(s)))
          return this.setStatus(merchantId, network, s, 'SKIPPED', { error: 'not worth it' });
      }
      request = {
        kind: 'transfer',
        merchantId,
        networkId: network.id,
        requestId: s.id,
        from:
          s.from_role === 'USER'
            ? { type: 'USER', index: requireIndex(owner), address: from.address }
            : { type: 'KEY', keyId: requireKey(owner), address: from.address },
        to: s.to_address,
        // Tron energy (un)delegation travels as a transfer of a resource pseudo-coin (see signer collect.ts).
        coinId: s.action === 'delegate' || s.action === 'undelegate' ? tronResourceCoinId(network.id, s.action) : s.coin_id,
        amount: s.amount,
        sweepAll: s.sweep_all,
      };
    }
    const signed = await this.deps.bus.request('signer.collect_sign', request, SIGNER_TIMEOUT_MS);
    // Stored before anything is broadcast: from here on this exact transaction is the step.
    const status = await this.setStatus(merchantId, network, s, 'SIGNED', { raw: signed.raw, txHash: signed.txHash, fee: signed.fee, amount: signed.amount });
    await this.deps.hooks?.afterStep?.({ id: s.id, planId: s.plan_id, kind: s.kind, action: s.action, status });
    if (this.deps.stopped()) return status;
    await chain.broadcast(signed.txHash, signed.raw);
    return this.setStatus(merchantId, network, { ...s, status: 'SIGNED', tx_hash: signed.txHash, amount: signed.amount }, 'BROADCAST', {
      amount: signed.amount,
    });
  }

  private async ratioOfPlan(s: StepRow): Promise<Ratio> {
    const p = await this.deps.plans.planOf(s.plan_id);
    const network = this.deps.networks.get(p.coin_id.split(':')[0]!)!;
    const coin = network.coins.find((c) => c.id === p.coin_id)!;
    return plannerPolicy(await storedPolicy(this.deps.copies, p.merchant_id, coin, network.dev === true)).maxFeeRatio;
  }
}

class LostRace extends Error {}

/**
 * signer.collect_sign has no request kind for Tron resources yet: a delegation of staked energy
 * is asked for as a `transfer` of `<network>:DELEGATE_ENERGY` (amount: the staked sun lent to
 * `to`), taking it back as `<network>:UNDELEGATE_ENERGY`. Never a coin of any network.
 */
export function tronResourceCoinId(networkId: string, action: 'delegate' | 'undelegate'): string {
  return `${networkId}:${action === 'delegate' ? 'DELEGATE_ENERGY' : 'UNDELEGATE_ENERGY'}`;
}

function requireIndex(a: AddressRow): number {
  if (a.derivation_index === null || a.derivation_index === undefined) throw new ChainError(`USER address ${a.address} has no account index`, false);
  return a.derivation_index;
}

function requireKey(a: AddressRow): string {
  if (!a.signer_key_id) throw new ChainError(`wallet ${a.address} has no signer key`, false);
  return a.signer_key_id;
}
