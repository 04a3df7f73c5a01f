import { randomUUID } from 'node:crypto';
import type { CoinConfig, NetworkConfig } from '@cpg/chains';
import type { Logger } from '@cpg/core/logger';
import type { AwaitingReport } from './awaiting-report';
import type { CollectorChain } from './chain';
import { type ChainRead, finalHoldings, readChain } from './chain-read';
import type { AddressRow, CopyStore } from './copy-store';
import { type Plan, type Ratio, type SourceAddress, planSweep } from './domain/planner';
import { type StoredPolicy, defaultPolicy, nativeToCoin, plannerPolicy } from './domain/policy';
import { type AwaitingEntry, type DescribeContext, describeWaiting, gasTopUpPending, noHotWallet, noPrice } from './domain/waiting';
import type { PlanStore } from './plan-store';

/** How many times planOne reads the chain when the copies changed meanwhile. */
const MAX_PLAN_READS = 3;

export interface PlanningDeps {
  copies: CopyStore;
  plans: PlanStore;
  report: AwaitingReport;
  kickRelay: () => void;
  log: Logger;
  networks: Map<string, NetworkConfig>;
  chainFor: (network: NetworkConfig) => CollectorChain;
  /** USD price per whole coin by symbol (for valuing gas in tokens). */
  usdPrices: Record<string, string>;
}

/** What the collector's copies say about one merchant and coin now. */
interface Copies {
  hot: AddressRow;
  collector: AddressRow | undefined;
  policy: StoredPolicy;
  coldNote: string | null;
  users: AddressRow[];
}

/** The merchant's policy for the coin, or the default one when it never set one. */
export async function storedPolicy(copies: CopyStore, merchantId: string, coin: CoinConfig, dev = false): Promise<StoredPolicy> {
  const row = await copies.policy(merchantId, coin.id);
  if (!row) return defaultPolicy(coin, dev);
  return {
    collectThreshold: BigInt(row.collect_threshold),
    hotTarget: BigInt(row.hot_target),
    coldWalletAddress: row.cold_wallet_address,
    maxFeeRatio: row.max_fee_ratio,
  };
}

/** Reads copies and chain, runs the pure planner, stores the plan and reports what waits. */
export class Planning {
  constructor(private readonly deps: PlanningDeps) {}

  /** Builds and stores a plan for one merchant and coin; null when there is nothing worth doing. */
  async planOne(merchantId: string, networkId: string, coinId: string): Promise<Plan | null> {
    const network = this.deps.networks.get(networkId);
    const coin = network?.coins.find((c) => c.id === coinId);
    if (!network || !coin) return null;
    const log = this.deps.log.child({ merchantId, coin: coinId });
    // Without a price the chain is still read: what waits is reported with the reason.
    const ratio = this.ratioFor(network, coin);
    const state = await this.readState(merchantId, network, coin, log);
    if (!state) return null;
    const { hot, collector, policy, coldNote } = state.copies;
    const { hotBalance, funderNativeBalance, tron } = state.read;
    const sources = await this.sourcesOf(merchantId, coin, state.copies, state.read);
    const funder = collector ? { role: 'TOKENS_COLLECTOR' as const, address: collector.address } : { role: 'HOT' as const, address: hot.address };
    const ctx: DescribeContext = {
      coin: units(coin),
      native: units(network.nativeCoin),
      collectThreshold: policy.collectThreshold,
      maxFeeRatio: policy.maxFeeRatio,
      funder,
      coldNote,
    };
    const belowThreshold = (s: SourceAddress): AwaitingEntry => ({
      addressId: s.addressId,
      address: s.address,
      amount: s.balance,
      code: 'below_threshold',
      reason: describeWaiting({ address: s.address, reason: 'below_threshold', amount: s.balance }, ctx),
      estimatedFee: null,
    });
    const worth = (s: SourceAddress) => s.balance >= policy.collectThreshold && s.balance > 0n;
    const report = (entries: AwaitingEntry[]) => this.deps.report.report(merchantId, network, coin, entries, log);
    if (!ratio) {
      log.warn('no price for the native coin or the token: gas cannot be weighed against the amount, not collecting');
      const noPriceOf = (s: SourceAddress): AwaitingEntry => ({
        addressId: s.addressId,
        address: s.address,
        amount: s.balance,
        code: 'no_price',
        reason: noPrice(s.balance, ctx.coin, ctx.native),
        estimatedFee: null,
      });
      await report(sources.filter((s) => s.balance > 0n).map((s) => (worth(s) ? noPriceOf(s) : belowThreshold(s))));
      return null;
    }
    // Nothing at or above the threshold: no need to ask for fees.
    if (!sources.some(worth)) {
      await report(sources.filter((s) => s.balance > 0n).map(belowThreshold));
      return null;
    }
    const chain = this.deps.chainFor(network);
    const [evmFees, bitcoinFees] = await this.deps.report.unlessUnavailable(merchantId, network, coin, log, () =>
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
      hotBalance,
      funderNativeBalance,
      sources,
      nativeToCoin: ratio,
      evm: evmFees,
      bitcoin: bitcoinFees,
      tron: tron?.fees,
    });
    const waiting = waitingOf(plan, sources, ctx);
    if (plan.steps.length === 0) {
      await report(waiting);
      return null;
    }
    const stored = await this.deps.plans.savePlan(merchantId, network, plan);
    if (!stored) return null;
    this.deps.kickRelay();
    log.info({ planId, steps: plan.steps.length, toHot: plan.toHot.toString(), toRest: plan.toRest.toString() }, 'sweep planned');
    await report(waiting);
    return plan;
  }

  /**
   * The copies (addresses, policy) and the chain, consistent with each other. The copies are read
   * before the chain, and reading the chain can take a while (a Bitcoin node runs one UTXO scan at
   * a time: other readers make it wait). Balances that arrived meanwhile may belong to addresses
   * or follow a policy the first read did not see yet, so the copies are read again afterwards and
   * the chain again when they changed: a plan never combines fresh balances with older copies.
   */
  private async readState(merchantId: string, network: NetworkConfig, coin: CoinConfig, log: Logger): Promise<{ copies: Copies; read: ChainRead } | null> {
    const chain = this.deps.chainFor(network);
    let copies: Copies | null = null;
    for (let attempt = 0; attempt < MAX_PLAN_READS; attempt++) {
      const before = copies ?? (await this.copiesOf(merchantId, network, coin));
      if (!before) {
        log.debug('no HOT wallet on this network yet: nothing to collect into');
        await this.reportNoHot(merchantId, network, coin, chain, log);
        return null;
      }
      if (before.users.length === 0) return null;
      const wallets = { users: before.users.map((u) => u.address), hot: before.hot.address, funder: (before.collector ?? before.hot).address };
      const read = await this.deps.report.unlessUnavailable(merchantId, network, coin, log, () => readChain(chain, network, coin, wallets));
      copies = await this.copiesOf(merchantId, network, coin);
      if (copies && sameCopies(before, copies)) return { copies, read };
    }
    log.debug('the address or policy copies kept changing while the chain was read; planning on the next pass');
    return null;
  }

  /** The USER addresses as the planner sees them: balances (Bitcoin family: final outputs), holds, Tron accounts. */
  private async sourcesOf(merchantId: string, coin: CoinConfig, copies: Copies, read: ChainRead): Promise<SourceAddress[]> {
    const { balances, natives, utxos, tron } = read;
    const heldAt = await this.deps.copies.heldByAddress(merchantId, coin.id);
    const sources: SourceAddress[] = copies.users.map((u, i) => ({
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
    return sources;
  }

  /** What the collector's copies say about one merchant and coin now; null without a HOT wallet. */
  private async copiesOf(merchantId: string, network: NetworkConfig, coin: CoinConfig): Promise<Copies | null> {
    const hot = await this.deps.copies.wallet(merchantId, network.id, 'HOT');
    if (!hot) return null;
    const collector = network.family !== 'BITCOIN' ? await this.deps.copies.wallet(merchantId, network.id, 'TOKENS_COLLECTOR') : undefined;
    const { policy, coldNote } = await this.usablePolicy(merchantId, network, await storedPolicy(this.deps.copies, merchantId, coin, network.dev === true));
    const users = await this.deps.copies.users(merchantId, network.id, coin.id);
    return { hot, collector, policy, coldNote, users };
  }

  /**
   * The policy as it may be carried out now: a cold wallet that is not usable yet (under review,
   * cooling off) or rejected is left out, so the surplus stays on the hot side. The signer checks
   * the same again before it signs (address.lookup).
   */
  private async usablePolicy(merchantId: string, network: NetworkConfig, policy: StoredPolicy): Promise<{ policy: StoredPolicy; coldNote: string | null }> {
    if (!policy.coldWalletAddress) return { policy, coldNote: null };
    const row = await this.deps.copies.coldWallet(merchantId, network.id, policy.coldWalletAddress);
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

  private ratioFor(network: NetworkConfig, coin: CoinConfig): Ratio | null {
    if (!coin.contract) return { numerator: 1n, denominator: 1n };
    const nativeUsd = this.deps.usdPrices[network.nativeCoin.symbol.toUpperCase()];
    const coinUsd = this.deps.usdPrices[coin.symbol.toUpperCase()];
    if (!nativeUsd || !coinUsd) return null;
    return nativeToCoin(nativeUsd, network.nativeCoin.decimals, coinUsd, coin.decimals);
  }

  /** No HOT wallet: nothing is collected, but what sits at USER addresses is reported. */
  private async reportNoHot(merchantId: string, network: NetworkConfig, coin: CoinConfig, chain: CollectorChain, log: Logger): Promise<void> {
    const users = await this.deps.copies.users(merchantId, network.id, coin.id);
    if (users.length === 0) return;
    const addrs = users.map((u) => u.address);
    const balances = await this.deps.report.unlessUnavailable(merchantId, network, coin, log, () => finalHoldings(chain, network, coin, addrs));
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
    await this.deps.report.report(merchantId, network, coin, entries, log);
  }
}

/** What the plan leaves waiting (with its reason), and each address whose sweep waits for its gas top-up. */
function waitingOf(plan: Plan, sources: SourceAddress[], ctx: DescribeContext): AwaitingEntry[] {
  const idOf = new Map(sources.map((s) => [s.address, s.addressId]));
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
  return waiting;
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
