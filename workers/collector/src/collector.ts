import { createHash, randomUUID } from 'node:crypto';
import type { Bus, RpcRequest } from '@cpg/core/bus';
import { ChainError, type CoinConfig, type NetworkConfig } from '@cpg/chains';
import { type EntityManager, writeOutbox } from '@cpg/core/db';
import { countEvent } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import { SCHEMA } from '../migrations';
import type { CollectorChain } from './chain';
import {
  type Plan,
  type PlanStep,
  type Ratio,
  type SourceAddress,
  type TronAccountState,
  type TronFeeEstimate,
  type Utxo,
  planSweep,
  withinRatio,
} from './domain/planner';
import { type StoredPolicy, defaultPolicy, nativeToCoin, plannerPolicy } from './domain/policy';
import {
  type AwaitingEntry,
  type AwaitingWire,
  type DescribeContext,
  awaitingChanged,
  describeWaiting,
  fromWire,
  gasTopUpPending,
  newReasons,
  noHotWallet,
  noPrice,
  nodeUnavailable,
  toWire,
} from './domain/waiting';
import { type StepClaim, stepMismatch } from './domain/verify-step';

/** A step that failed this many times in a row is given up (FAILED); its plan then ends. */
export const MAX_ATTEMPTS = 20;
const SIGNER_TIMEOUT_MS = 20_000;
/**
 * How the signer says no to a step for good (not the merchant's own wallet, not a step persisted
 * here): its reply error starts with `refused:` (see `collector.verify_step`). Retrying cannot help.
 */
const SIGNER_REFUSAL = /^rpc signer\.collect_sign failed: refused: /;

export type StepStatus = 'PLANNED' | 'SIGNED' | 'BROADCAST' | 'CONFIRMED' | 'FAILED' | 'SKIPPED';

interface StepRow {
  id: string;
  plan_id: string;
  seq: number;
  kind: 'gas_topup' | 'sweep' | 'cold_forward';
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

interface AddressRow {
  address_id: string;
  merchant_id: string;
  address: string;
  type: string;
  derivation_index: number | null;
  signer_key_id: string | null;
  described: boolean;
}

export interface CollectorHooks {
  /** Called after a step's status changed and was committed (tests stop the collector here). */
  afterStep?: (step: { id: string; planId: string; kind: string; action: string; status: StepStatus }) => Promise<void> | void;
}

export interface CollectorDeps {
  em: EntityManager;
  bus: Pick<Bus, 'request'>;
  kickRelay: () => void;
  log: Logger;
  networks: Map<string, NetworkConfig>;
  chainFor: (network: NetworkConfig) => CollectorChain;
  /** USD price per whole coin by symbol (for valuing gas in tokens). */
  usdPrices: Record<string, string>;
  hooks?: CollectorHooks;
}

/** Plans sweeps and carries them out step by step; every state change is committed with its event. */
export class Collector {
  private stopped = false;

  constructor(private readonly deps: CollectorDeps) {}

  stop(): void {
    this.stopped = true;
  }

  private get em(): EntityManager {
    return this.deps.em.fork();
  }

  // --- planning --------------------------------------------------------------------------------

  /** (merchant, network, coin) with USER addresses and no open plan; dirty ones first. */
  async candidates(onlyDirty: boolean): Promise<{ merchantId: string; networkId: string; coinId: string }[]> {
    const rows = await this.em.execute<{ merchant_id: string; network_id: string; coin_id: string }[]>(
      `select distinct a.merchant_id, n.network_id, c.coin_id
         from "${SCHEMA}".addresses a, unnest(a.networks) as n(network_id), unnest(a.coins) as c(coin_id)
        where a.type = 'USER' and split_part(c.coin_id, ':', 1) = n.network_id
          and not exists (select 1 from "${SCHEMA}".plans p where p.merchant_id = a.merchant_id and p.coin_id = c.coin_id and p.status = 'OPEN')
          ${onlyDirty ? `and exists (select 1 from "${SCHEMA}".dirty d where d.merchant_id = a.merchant_id and d.coin_id = c.coin_id)` : ''}
        order by 1, 2, 3`,
    );
    return rows.filter((r) => this.deps.networks.has(r.network_id)).map((r) => ({ merchantId: r.merchant_id, networkId: r.network_id, coinId: r.coin_id }));
  }

  async policyOf(merchantId: string, coin: CoinConfig, dev = false): Promise<StoredPolicy> {
    const [row] = await this.em.execute<{ collect_threshold: string; hot_target: string; cold_wallet_address: string | null; max_fee_ratio: string }[]>(
      `select collect_threshold::text, hot_target::text, cold_wallet_address, max_fee_ratio from "${SCHEMA}".policies where merchant_id = ? and coin_id = ?`,
      [merchantId, coin.id],
    );
    if (!row) return defaultPolicy(coin, dev);
    return {
      collectThreshold: BigInt(row.collect_threshold),
      hotTarget: BigInt(row.hot_target),
      coldWalletAddress: row.cold_wallet_address,
      maxFeeRatio: row.max_fee_ratio,
    };
  }

  /**
   * The policy as it may be carried out now: a cold wallet that is not usable yet (under review,
   * cooling off) or rejected is left out, so the surplus stays on the hot side. The signer checks
   * the same again before it signs (address.lookup).
   */
  private async usablePolicy(merchantId: string, network: NetworkConfig, policy: StoredPolicy): Promise<{ policy: StoredPolicy; coldNote: string | null }> {
    if (!policy.coldWalletAddress) return { policy, coldNote: null };
    const [row] = await this.em.execute<{ usable: boolean; status: string; usable_from: Date | null }[]>(
      `select (status = 'ACTIVE' or (status = 'COOLING_OFF' and usable_from <= now())) as usable, status, usable_from from "${SCHEMA}".cold_wallets
        where merchant_id = ? and network_id = ? and address = ?`,
      [merchantId, network.id, policy.coldWalletAddress],
    );
    if (row?.usable) return { policy, coldNote: null };
    this.deps.log.debug({ merchantId, network: network.id }, 'the cold wallet is not usable yet (review, cooling-off or rejected): nothing is forwarded to it');
    const status = !row
      ? 'not known to the collector yet'
      : row.status === 'COOLING_OFF' && row.usable_from
        ? `cooling off until ${new Date(row.usable_from).toISOString()}`
        : row.status === 'PENDING_REVIEW'
          ? 'waiting for the operator’s review'
          : 'rejected by the operator';
    return { policy: { ...policy, coldWalletAddress: null }, coldNote: `the policy's cold wallet ${policy.coldWalletAddress} is ${status}` };
  }

  private async wallet(merchantId: string, networkId: string, type: 'HOT' | 'TOKENS_COLLECTOR'): Promise<AddressRow | undefined> {
    const [row] = await this.em.execute<AddressRow[]>(
      `select * from "${SCHEMA}".addresses where merchant_id = ? and type = ? and ? = any(networks) order by created_at, address_id limit 1`,
      [merchantId, type, networkId],
    );
    return row;
  }

  private ratioFor(network: NetworkConfig, coin: CoinConfig): Ratio | null {
    if (!coin.contract) return { numerator: 1n, denominator: 1n };
    const nativeUsd = this.deps.usdPrices[network.nativeCoin.symbol.toUpperCase()];
    const coinUsd = this.deps.usdPrices[coin.symbol.toUpperCase()];
    if (!nativeUsd || !coinUsd) return null;
    return nativeToCoin(nativeUsd, network.nativeCoin.decimals, coinUsd, coin.decimals);
  }

  /**
   * What the collector's copies say about one merchant and coin now: its wallets, its policy and its
   * USER addresses. Compared before and after the chain is read (see planOne).
   */
  private async copiesOf(merchantId: string, network: NetworkConfig, coin: CoinConfig): Promise<Copies | null> {
    const hot = await this.wallet(merchantId, network.id, 'HOT');
    if (!hot) return null;
    const collector = network.family !== 'BITCOIN' ? await this.wallet(merchantId, network.id, 'TOKENS_COLLECTOR') : undefined;
    const { policy, coldNote } = await this.usablePolicy(merchantId, network, await this.policyOf(merchantId, coin, network.dev === true));
    const users = await this.usersOf(merchantId, network, coin);
    return { hot, collector, policy, coldNote, users };
  }

  private usersOf(merchantId: string, network: NetworkConfig, coin: CoinConfig): Promise<AddressRow[]> {
    return this.em.execute<AddressRow[]>(
      `select * from "${SCHEMA}".addresses where merchant_id = ? and type = 'USER' and ? = any(networks) and ? = any(coins) order by created_at, address_id limit 2000`,
      [merchantId, network.id, coin.id],
    );
  }

  /** Builds and stores a plan for one merchant and coin; null when there is nothing worth doing. */
  async planOne(merchantId: string, networkId: string, coinId: string): Promise<Plan | null> {
    const network = this.deps.networks.get(networkId);
    const coin = network?.coins.find((c) => c.id === coinId);
    if (!network || !coin) return null;
    const log = this.deps.log.child({ merchantId, coin: coinId });
    // Without a price the chain is still read: what waits is reported with the reason.
    const ratio = this.ratioFor(network, coin);
    const chain = this.deps.chainFor(network);
    // The copies (addresses, policy) are read before the chain, and reading the chain can take a
    // while (a Bitcoin node runs one UTXO scan at a time: other readers make it wait). Balances
    // that arrived meanwhile may belong to addresses or follow a policy the first read did not
    // see yet, so the copies are read again afterwards and the chain again when they changed: a
    // plan never combines fresh balances with older copies.
    let copies: Copies | null = null;
    let read: ChainRead | null = null;
    for (let attempt = 0; attempt < MAX_PLAN_READS; attempt++) {
      const before = copies ?? (await this.copiesOf(merchantId, network, coin));
      if (!before) {
        log.debug('no HOT wallet on this network yet: nothing to collect into');
        await this.reportNoHot(merchantId, network, coin, chain, log);
        return null;
      }
      if (before.users.length === 0) return null;
      read = await this.unlessUnavailable(merchantId, network, coin, log, () => this.readChain(chain, network, coin, before));
      copies = await this.copiesOf(merchantId, network, coin);
      if (copies && sameCopies(before, copies)) break;
      if (attempt === MAX_PLAN_READS - 1) {
        log.debug('the address or policy copies kept changing while the chain was read; planning on the next pass');
        return null;
      }
      read = null;
    }
    if (!copies || !read) return null;
    const { hot, collector, policy, coldNote, users } = copies;
    const { balances, hotBalance, funderNativeBalance, natives, utxos, tron } = read;
    const holds = await this.em.execute<{ address_id: string; amount: string }[]>(
      `select address_id, sum(amount)::text as amount from "${SCHEMA}".holds where merchant_id = ? and coin_id = ? and state <> 'RELEASE' group by address_id`,
      [merchantId, coinId],
    );
    const heldAt = new Map(holds.map((h) => [h.address_id, BigInt(h.amount)]));
    const sources: SourceAddress[] = users.map((u, i) => ({
      addressId: u.address_id,
      address: u.address,
      balance: balances[i]!,
      held: heldAt.get(u.address_id) ?? 0n,
    }));
    if (natives) sources.forEach((s, i) => (s.nativeBalance = natives[i]!));
    if (tron) sources.forEach((s, i) => (s.tron = tron.accounts[i]!));
    if (utxos) {
      for (const s of sources) {
        s.utxos = utxos.get(s.address) ?? [];
        // Only final outputs are swept: the balance is what they hold.
        s.balance = s.utxos.reduce((a, u) => a + u.value, 0n);
      }
    }
    const funder = collector ? { role: 'TOKENS_COLLECTOR' as const, address: collector.address } : { role: 'HOT' as const, address: hot.address };
    const ctx: DescribeContext = {
      coin: units(coin),
      native: units(network.nativeCoin),
      collectThreshold: policy.collectThreshold,
      maxFeeRatio: policy.maxFeeRatio,
      funder,
      coldNote,
    };
    const idOf = new Map(sources.map((s) => [s.address, s.addressId]));
    const belowThreshold = (s: SourceAddress): AwaitingEntry => ({
      addressId: s.addressId,
      address: s.address,
      amount: s.balance,
      code: 'below_threshold',
      reason: describeWaiting({ address: s.address, reason: 'below_threshold', amount: s.balance }, ctx),
      estimatedFee: null,
    });
    const worth = (s: SourceAddress) => s.balance >= policy.collectThreshold && s.balance > 0n;
    if (!ratio) {
      log.warn('no price for the native coin or the token: gas cannot be weighed against the amount, not collecting');
      await this.reportAwaiting(
        merchantId,
        network,
        coin,
        sources
          .filter((s) => s.balance > 0n)
          .map((s) =>
            worth(s)
              ? {
                  addressId: s.addressId,
                  address: s.address,
                  amount: s.balance,
                  code: 'no_price',
                  reason: noPrice(s.balance, ctx.coin, ctx.native),
                  estimatedFee: null,
                }
              : belowThreshold(s),
          ),
        log,
      );
      return null;
    }
    // Nothing at or above the threshold: no need to ask for fees.
    if (!sources.some(worth)) {
      await this.reportAwaiting(merchantId, network, coin, sources.filter((s) => s.balance > 0n).map(belowThreshold), log);
      return null;
    }
    const [evmFees, bitcoinFees] = await this.unlessUnavailable(merchantId, network, coin, log, () =>
      Promise.all([network.family === 'EVM' ? chain.evmFees() : undefined, network.family === 'BITCOIN' ? chain.bitcoinFees() : undefined]),
    );
    const planId = randomUUID();
    const plan = planSweep({
      planId,
      family: network.family,
      coinId,
      nativeCoinId: network.nativeCoin.id,
      isToken: !!coin.contract,
      policy: plannerPolicy(policy),
      wallets: {
        hot: { addressId: hot.address_id, address: hot.address },
        cold: policy.coldWalletAddress ? { addressId: 'cold', address: policy.coldWalletAddress } : null,
        tokensCollector: collector ? { addressId: collector.address_id, address: collector.address } : null,
      },
      hotBalance: hotBalance!,
      funderNativeBalance,
      sources,
      nativeToCoin: ratio,
      evm: evmFees,
      bitcoin: bitcoinFees,
      tron: tron?.fees,
    });
    const waiting: AwaitingEntry[] = plan.waiting
      .filter((w) => (w.amount ?? 0n) > 0n)
      .map((w) => ({
        addressId: idOf.get(w.address)!,
        address: w.address,
        amount: w.amount!,
        code: w.reason,
        reason: describeWaiting(w, ctx),
        estimatedFee: w.fee ?? (w.reason === 'funder_short' ? (w.need ?? null) : null),
      }));
    // A token sweep behind a gas top-up waits for the top-up to confirm: shown until the plan ends.
    for (const t of plan.steps.filter((st) => st.kind === 'gas_topup')) {
      const src = sources.find((x) => x.address === t.to.address);
      if (!src) continue;
      const fees = plan.steps.filter((st) => st.to.address === src.address || st.from.some((f) => f.address === src.address)).reduce((a, st) => a + st.fee, 0n);
      waiting.push({
        addressId: src.addressId,
        address: src.address,
        amount: src.balance,
        code: 'gas_topup_pending',
        reason: gasTopUpPending(src.balance, t.amount, ctx),
        estimatedFee: fees,
      });
    }
    if (plan.steps.length === 0) {
      await this.reportAwaiting(merchantId, network, coin, waiting, log);
      return null;
    }
    const stored = await this.store(merchantId, network, plan);
    if (stored) {
      log.info({ planId, steps: plan.steps.length, toHot: plan.toHot.toString(), toRest: plan.toRest.toString() }, 'sweep planned');
      await this.reportAwaiting(merchantId, network, coin, waiting, log);
    }
    return stored ? plan : null;
  }

  // --- what waits, and why ---------------------------------------------------------------------

  /**
   * Publishes the list of what waits for (merchant, coin) when it changed (collection.awaiting_updated,
   * through the outbox) and logs each address whose reason is new: once per change, not per pass.
   */
  private async reportAwaiting(merchantId: string, network: NetworkConfig, coin: CoinConfig, entries: AwaitingEntry[], log: Logger): Promise<void> {
    const changed = await this.em.transactional(async (tx) => {
      const [row] = await tx.execute<{ entries: AwaitingWire[] }[]>(
        `select entries from "${SCHEMA}".awaiting where merchant_id = ? and coin_id = ? for update`,
        [merchantId, coin.id],
      );
      const prev = (row?.entries ?? []).map(fromWire);
      for (const e of newReasons(prev, entries)) {
        log.info(
          { address: e.address, code: e.code, amount: e.amount.toString(), estimatedFee: e.estimatedFee?.toString() ?? null },
          `collection waits at ${e.address}: ${e.reason}`,
        );
      }
      if (!row && entries.length === 0) return false;
      if (row && !awaitingChanged(prev, entries)) return false;
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
      return true;
    });
    if (changed) this.deps.kickRelay();
  }

  /** Runs a chain read; when the node does not answer, what was waiting is reported as waiting for it. */
  private async unlessUnavailable<T>(merchantId: string, network: NetworkConfig, coin: CoinConfig, log: Logger, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      const [row] = await this.em.execute<{ entries: AwaitingWire[] }[]>(`select entries from "${SCHEMA}".awaiting where merchant_id = ? and coin_id = ?`, [
        merchantId,
        coin.id,
      ]);
      const reason = nodeUnavailable(network.id, (err as Error).message ?? String(err));
      const entries = (row?.entries ?? []).map(fromWire).map((e): AwaitingEntry => ({ ...e, code: 'node_unavailable', reason, estimatedFee: null }));
      if (entries.length) await this.reportAwaiting(merchantId, network, coin, entries, log).catch(() => undefined);
      throw err;
    }
  }

  /** No HOT wallet: nothing is collected, but what sits at USER addresses is reported. */
  private async reportNoHot(merchantId: string, network: NetworkConfig, coin: CoinConfig, chain: CollectorChain, log: Logger): Promise<void> {
    const users = await this.usersOf(merchantId, network, coin);
    if (users.length === 0) return;
    const addrs = users.map((u) => u.address);
    const balances = await this.unlessUnavailable(merchantId, network, coin, log, async () => {
      if (network.family !== 'BITCOIN') return chain.finalBalances(addrs, coin);
      const utxos = await chain.utxos(addrs);
      return addrs.map((a) => (utxos.get(a) ?? []).reduce((x, u) => x + u.value, 0n));
    });
    const entries: AwaitingEntry[] = [];
    users.forEach((u, i) => {
      const amount = balances[i]!;
      if (amount > 0n)
        entries.push({
          addressId: u.address_id,
          address: u.address,
          amount,
          code: 'no_hot_wallet',
          reason: noHotWallet(amount, network.id, units(coin)),
          estimatedFee: null,
        });
    });
    await this.reportAwaiting(merchantId, network, coin, entries, log);
  }

  /** Balances the plan needs, read from the chain for the addresses of `copies`. */
  private async readChain(chain: CollectorChain, network: NetworkConfig, coin: CoinConfig, copies: Copies): Promise<ChainRead> {
    const addrs = copies.users.map((u) => u.address);
    if (network.family === 'BITCOIN') {
      // One scan for the USER outputs (final ones only), one for HOT: the node scans one at a time.
      const utxos = await chain.utxos(addrs);
      const [hotBalance] = await chain.balances([copies.hot.address], coin);
      return { balances: addrs.map(() => 0n), hotBalance: hotBalance!, utxos };
    }
    const [balances, [hotBalance]] = await Promise.all([chain.finalBalances(addrs, coin), chain.balances([copies.hot.address], coin)]);
    const funder = (copies.collector ?? copies.hot).address;
    if (network.family === 'TRON') {
      // Tron: every plan needs the accounts' state and the funder's TRX (top-ups, or its stake to delegate).
      const [natives, [funderNativeBalance], accounts, fees] = await Promise.all([
        chain.balances(addrs, network.nativeCoin),
        chain.balances([funder], network.nativeCoin),
        chain.tronAccounts(addrs),
        chain.tronFees(funder),
      ]);
      return { balances, hotBalance: hotBalance!, natives, funderNativeBalance, tron: { accounts, fees } };
    }
    if (!coin.contract) return { balances, hotBalance: hotBalance! };
    const natives = await chain.balances(addrs, network.nativeCoin);
    const [funderNativeBalance] = await chain.balances([funder], network.nativeCoin);
    return { balances, hotBalance: hotBalance!, natives, funderNativeBalance };
  }

  /** A pair planned with nothing worth doing leaves the fast lane; the periodic pass looks again. */
  async clearDirty(merchantId: string, coinId: string, markedBefore: Date): Promise<void> {
    // A deposit marked while the pass was reading balances keeps its mark for the next tick.
    await this.em.execute(`delete from "${SCHEMA}".dirty where merchant_id = ? and coin_id = ? and since < ?`, [merchantId, coinId, markedBefore]);
  }

  private async store(merchantId: string, network: NetworkConfig, plan: Plan): Promise<boolean> {
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
          if (s.action !== 'dust') await this.publish(tx, merchantId, network, plan.planId, rowOf(s, plan.planId), 'PLANNED', null, null);
        }
        await tx.execute(`delete from "${SCHEMA}".dirty where merchant_id = ? and coin_id = ?`, [merchantId, plan.coinId]);
      });
    } catch (err) {
      // Another pass opened a plan for this merchant and coin first.
      if (/plans_one_open|duplicate key/i.test((err as Error).message)) return false;
      throw err;
    }
    this.deps.kickRelay();
    return true;
  }

  private async publish(
    tx: EntityManager,
    merchantId: string,
    network: NetworkConfig,
    planId: string,
    s: Pick<StepRow, 'id' | 'kind' | 'coin_id' | 'from_wallets' | 'to_address' | 'amount' | 'created_at'>,
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
        planId,
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
  private async publishFee(
    tx: EntityManager,
    merchantId: string,
    network: NetworkConfig,
    s: StepRow,
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

  // --- the signer's check ----------------------------------------------------------------------

  /**
   * Answers `collector.verify_step`: called by the signer while it handles a collect_sign this
   * collector sent, before it signs. Null when the request is exactly a stored step still waiting
   * for its signature; else why not. Read-only, so any replica may answer and repeats are harmless.
   */
  async verifyStep(requestId: string, claim: StepClaim): Promise<string | null> {
    if (!UUID.test(requestId)) return 'no such step';
    const [row] = await this.em.execute<(StepRow & { merchant_id: string; network_id: string })[]>(
      `select s.id, s.action, s.coin_id, s.from_wallets, s.inputs, s.to_address, s.amount::text, s.sweep_all, s.status, p.merchant_id, p.network_id
         from "${SCHEMA}".steps s join "${SCHEMA}".plans p on p.id = s.plan_id where s.id = ?`,
      [requestId],
    );
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

  // --- execution -------------------------------------------------------------------------------

  async openPlans(): Promise<{ id: string; merchant_id: string; network_id: string }[]> {
    return this.em.execute(`select id, merchant_id, network_id from "${SCHEMA}".plans where status = 'OPEN' order by created_at`);
  }

  /** Moves every runnable step of a plan as far as it can go now; returns the plan's status. */
  async advance(plan: { id: string; merchant_id: string; network_id: string }): Promise<'OPEN' | 'DONE' | 'FAILED'> {
    const network = this.deps.networks.get(plan.network_id);
    if (!network) return 'OPEN';
    const chain = this.deps.chainFor(network);
    for (;;) {
      if (this.stopped) return 'OPEN';
      const steps = await this.em.execute<StepRow[]>(
        `select id, plan_id, seq, kind, action, coin_id, from_role, from_wallets, inputs, to_address, to_role, amount::text, sweep_all, fee_estimate::text,
                after_steps::text[] as after_steps, status, raw_tx, tx_hash, fee::text, attempts, created_at
           from "${SCHEMA}".steps where plan_id = ? order by seq`,
        [plan.id],
      );
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
          if (this.stopped) return 'OPEN';
        }
      }
      const inFlight = steps.filter((s) => !done.has(s.id) && !failed.has(s.id)).length;
      if (failed.size > 0 && inFlight === blocked) return this.finish(plan.id, 'FAILED');
      if (!progressed) return 'OPEN';
    }
  }

  private async finish(planId: string, status: 'DONE' | 'FAILED'): Promise<'DONE' | 'FAILED'> {
    await this.em.transactional(async (tx) => {
      await tx.execute(`update "${SCHEMA}".plans set status = ?, finished_at = now() where id = ? and status = 'OPEN'`, [status, planId]);
      // Planned again at the next tick: what still waits (and why) is reported afresh.
      await tx.execute(
        `insert into "${SCHEMA}".dirty (merchant_id, network_id, coin_id) select merchant_id, network_id, coin_id from "${SCHEMA}".plans where id = ? on conflict do nothing`,
        [planId],
      );
    });
    this.deps.log.info({ planId, status }, 'sweep plan finished');
    return status;
  }

  private async setStatus(
    merchantId: string,
    network: NetworkConfig,
    s: StepRow,
    to: StepStatus,
    patch: { raw?: string; txHash?: string; fee?: string; amount?: string; error?: string | null; mined?: boolean } = {},
  ): Promise<StepStatus> {
    const moved = await this.em.transactional(async (tx) => {
      const updated = await tx.execute<{ id: string }[]>(
        `update "${SCHEMA}".steps set status = ?, raw_tx = coalesce(?, raw_tx), tx_hash = coalesce(?, tx_hash), fee = coalesce(?, fee), amount = coalesce(?::numeric, amount),
           error = ?, attempts = 0, updated_at = now() where id = ? and status = ? returning id`,
        [to, patch.raw ?? null, patch.txHash ?? null, patch.fee ?? null, patch.amount ?? null, patch.error ?? null, s.id, s.status],
      );
      // Another instance moved the step first: leave it to that one.
      if (updated.length === 0) return false;
      if (to === 'BROADCAST' || to === 'CONFIRMED' || to === 'FAILED') {
        await this.publish(
          tx,
          merchantId,
          network,
          s.plan_id,
          { ...s, amount: patch.amount ?? s.amount },
          to,
          patch.txHash ?? s.tx_hash,
          to === 'CONFIRMED' || patch.mined ? (patch.fee ?? s.fee) : null,
        );
      }
      // Final on chain (confirmed, or mined and reverted: its gas is spent either way): the fee goes to the ledger.
      if (patch.mined && (to === 'CONFIRMED' || to === 'FAILED')) await this.publishFee(tx, merchantId, network, s, to, patch.fee ?? s.fee ?? '0');
      return true;
    });
    if (!moved) throw new LostRace(`step ${s.id} was moved by someone else`);
    if (to === 'BROADCAST' || to === 'CONFIRMED' || to === 'FAILED') this.deps.kickRelay();
    return to;
  }

  private async failedAttempt(s: StepRow, err: unknown, merchantId: string, network: NetworkConfig): Promise<StepStatus> {
    const message = (err as Error).message ?? String(err);
    const [row] = await this.em.execute<{ attempts: number }[]>(
      `update "${SCHEMA}".steps set attempts = attempts + 1, error = ?, updated_at = now() where id = ? returning attempts`,
      [message.slice(0, 1000), s.id],
    );
    this.deps.log.warn({ stepId: s.id, status: s.status, attempts: row?.attempts, err: message }, 'sweep step did not go through; will retry');
    if ((row?.attempts ?? 0) >= MAX_ATTEMPTS) return this.setStatus(merchantId, network, s, 'FAILED', { error: message.slice(0, 1000) });
    return s.status;
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

  private async describe(addressId: string): Promise<AddressRow> {
    const [row] = await this.em.execute<AddressRow[]>(`select * from "${SCHEMA}".addresses where address_id = ?`, [addressId]);
    if (row?.described) return row;
    const d = await this.deps.bus.request('address.describe', { addressId }, 5_000);
    if (!d.found) throw new Error(`address ${addressId} is unknown to the address service`);
    await this.em.execute(`update "${SCHEMA}".addresses set derivation_index = ?, signer_key_id = ?, described = true where address_id = ?`, [
      d.derivationIndex,
      d.signerKeyId,
      addressId,
    ]);
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
    if (this.stopped) return status;
    await chain.broadcast(signed.txHash, signed.raw);
    return this.setStatus(merchantId, network, { ...s, status: 'SIGNED', tx_hash: signed.txHash, amount: signed.amount }, 'BROADCAST', {
      amount: signed.amount,
    });
  }

  private async ratioOfPlan(s: StepRow): Promise<Ratio> {
    const [p] = await this.em.execute<{ merchant_id: string; coin_id: string }[]>(`select merchant_id, coin_id from "${SCHEMA}".plans where id = ?`, [
      s.plan_id,
    ]);
    const coinId = p!.coin_id;
    const network = this.deps.networks.get(coinId.split(':')[0]!)!;
    const coin = network.coins.find((c) => c.id === coinId)!;
    return plannerPolicy(await this.policyOf(p!.merchant_id, coin, network.dev === true)).maxFeeRatio;
  }
}

class LostRace extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * signer.collect_sign has no request kind for Tron resources yet: a delegation of staked energy
 * is asked for as a `transfer` of `<network>:DELEGATE_ENERGY` (amount: the staked sun lent to
 * `to`), taking it back as `<network>:UNDELEGATE_ENERGY`. Never a coin of any network.
 */
export function tronResourceCoinId(networkId: string, action: 'delegate' | 'undelegate'): string {
  return `${networkId}:${action === 'delegate' ? 'DELEGATE_ENERGY' : 'UNDELEGATE_ENERGY'}`;
}

/** How many times planOne reads the chain when the copies changed meanwhile. */
const MAX_PLAN_READS = 3;

interface Copies {
  hot: AddressRow;
  collector: AddressRow | undefined;
  policy: StoredPolicy;
  coldNote: string | null;
  users: AddressRow[];
}

interface ChainRead {
  balances: bigint[];
  hotBalance: bigint;
  natives?: bigint[];
  funderNativeBalance?: bigint;
  utxos?: Map<string, Utxo[]>;
  tron?: { accounts: TronAccountState[]; fees: TronFeeEstimate };
}

function sameCopies(a: Copies, b: Copies): boolean {
  const key = (c: Copies) =>
    JSON.stringify([
      c.hot.address_id,
      c.collector?.address_id ?? null,
      c.policy.collectThreshold.toString(),
      c.policy.hotTarget.toString(),
      c.policy.coldWalletAddress,
      c.policy.maxFeeRatio,
      c.users.map((u) => u.address_id),
    ]);
  return key(a) === key(b);
}

const units = (c: CoinConfig) => ({ id: c.id, symbol: c.symbol, decimals: c.decimals });

function requireIndex(a: AddressRow): number {
  if (a.derivation_index === null || a.derivation_index === undefined) throw new ChainError(`USER address ${a.address} has no account index`, false);
  return a.derivation_index;
}

function requireKey(a: AddressRow): string {
  if (!a.signer_key_id) throw new ChainError(`wallet ${a.address} has no signer key`, false);
  return a.signer_key_id;
}

function rowOf(s: PlanStep, planId: string): Pick<StepRow, 'id' | 'kind' | 'coin_id' | 'from_wallets' | 'to_address' | 'amount' | 'created_at' | 'plan_id'> {
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
