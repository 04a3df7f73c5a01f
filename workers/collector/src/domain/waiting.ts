import { formatAmount } from '@cpg/core/money';
import type { Waiting, WaitingReason } from './planner-types';

/**
 * Why funds sit at a USER address instead of being swept, in words a merchant can act on. The
 * planner decides (planner.ts, `waiting`) with figures; the collector adds the reasons that are not
 * the planner's (no HOT wallet, no price, the node not answering, a gas top-up in flight) and
 * publishes the whole list per merchant and coin (`collection.awaiting_updated`), which the address
 * subgraph serves as `awaitingCollection`.
 */
export type AwaitingCode = WaitingReason | 'gas_topup_pending' | 'no_hot_wallet' | 'no_price' | 'node_unavailable';

export interface AwaitingEntry {
  addressId: string;
  address: string;
  /** What the address holds of the coin (base units). */
  amount: bigint;
  code: AwaitingCode;
  reason: string;
  /** What sweeping it would cost, in base units of the network's native coin; null when not estimated. */
  estimatedFee: bigint | null;
}

export interface CoinUnits {
  id: string;
  symbol: string;
  decimals: number;
}

export interface DescribeContext {
  coin: CoinUnits;
  native: CoinUnits;
  collectThreshold: bigint;
  maxFeeRatio: string;
  /** Who pays gas top-ups (TOKENS_COLLECTOR, else HOT). */
  funder: { role: 'HOT' | 'TOKENS_COLLECTOR'; address: string } | null;
  /** Why the policy's cold wallet is not used now (review, cooling-off, rejected); null if none is set or it is usable. */
  coldNote: string | null;
}

const amt = (units: bigint, c: CoinUnits) => `${formatAmount(units, c.decimals)} ${c.symbol}`;

/** part / whole as a percentage with up to 4 decimals, rounded up: a fee share is never understated. */
export function percent(part: bigint, whole: bigint): string {
  if (whole <= 0n) return '∞';
  const scaled = (part * 1_000_000n + whole - 1n) / whole;
  return formatAmount(scaled, 4);
}

/** The planner's decision on one address as a sentence with its figures. */
export function describeWaiting(w: Waiting, ctx: DescribeContext): string {
  const { coin, native } = ctx;
  const amount = w.amount ?? 0n;
  switch (w.reason) {
    case 'below_threshold':
      return `${amt(amount, coin)} is below the collection threshold of ${amt(ctx.collectThreshold, coin)} (collectThreshold): it is swept once the address holds at least that`;
    case 'fee_ratio': {
      const fee = w.fee ?? 0n;
      const inCoin = w.feeInCoin ?? fee;
      const moved = w.moved ?? amount;
      const valued = coin.id === native.id ? '' : ` (about ${amt(inCoin, coin)})`;
      const max = percent(...ratioParts(ctx.maxFeeRatio));
      return (
        `sweeping ${amt(amount, coin)} would cost about ${amt(fee, native)} in fees${valued}, ${percent(inCoin, moved)}% of the ${amt(moved, coin)} moved, ` +
        `above the policy's maxFeeRatio ${ctx.maxFeeRatio} (${max}%): it waits until more arrives, fees fall or maxFeeRatio is raised`
      );
    }
    case 'dust':
      return `${amt(amount, coin)} does not cover the fee of moving it (about ${amt(w.fee ?? 0n, native)}): left alone as dust`;
    case 'funder_short': {
      const who = ctx.funder ? `the ${ctx.funder.role} wallet ${ctx.funder.address}` : 'the HOT wallet';
      return (
        `sweeping ${amt(amount, coin)} needs a gas top-up of ${amt(w.need ?? 0n, native)} (with its own fee) from ${who}, ` +
        `which has ${amt(w.have ?? 0n, native)} left for top-ups: send ${native.symbol} to ${ctx.funder?.address ?? 'the HOT wallet'}`
      );
    }
    case 'held': {
      const note = ctx.coldNote ? `; ${ctx.coldNote}` : '';
      return (
        `compliance holds ${amt(w.held ?? 0n, coin)} of the ${amt(amount, coin)} here (a deposit blocked or under review): held funds never go to the HOT wallet, ` +
        `and there is no usable cold wallet or TOKENS_COLLECTOR to forward them to${note}`
      );
    }
  }
}

export function gasTopUpPending(amount: bigint, topUp: bigint, ctx: Pick<DescribeContext, 'coin' | 'native'>): string {
  return `a gas top-up of ${amt(topUp, ctx.native)} to this address must confirm before its ${amt(amount, ctx.coin)} is swept`;
}

export function noHotWallet(amount: bigint, networkId: string, coin: CoinUnits): string {
  return `${amt(amount, coin)} waits: the merchant has no HOT wallet on ${networkId} to collect into yet (createAddress with type HOT)`;
}

export function noPrice(amount: bigint, coin: CoinUnits, native: CoinUnits): string {
  return `${amt(amount, coin)} waits: there is no USD price for ${native.symbol} or ${coin.symbol} (RATES_STATIC), so gas cannot be weighed against the amount`;
}

export function nodeUnavailable(networkId: string, error: string): string {
  return `the ${networkId} node did not answer (${error.slice(0, 200)}): balances and fees cannot be read now; the amount shown is the last one read`;
}

function ratioParts(decimal: string): [bigint, bigint] {
  const [i = '0', f = ''] = decimal.split('.');
  return [BigInt(`${i}${f}` || '0'), 10n ** BigInt(f.length)];
}

/**
 * Whether a new list is worth publishing: an address came or went, or its reason or amount
 * changed, or its fee estimate moved by more than a tenth (fees move every block; the list is
 * not republished for each move).
 */
export function awaitingChanged(prev: AwaitingEntry[], next: AwaitingEntry[]): boolean {
  if (prev.length !== next.length) return true;
  const before = new Map(prev.map((e) => [e.addressId, e]));
  for (const e of next) {
    const p = before.get(e.addressId);
    if (!p || p.code !== e.code || p.amount !== e.amount) return true;
    if ((p.estimatedFee === null) !== (e.estimatedFee === null)) return true;
    if (p.estimatedFee !== null && e.estimatedFee !== null) {
      const diff = p.estimatedFee > e.estimatedFee ? p.estimatedFee - e.estimatedFee : e.estimatedFee - p.estimatedFee;
      if (diff * 10n > p.estimatedFee) return true;
    }
  }
  return false;
}

/** The entries whose reason is new for their address: logged once per change, not every pass. */
export function newReasons(prev: AwaitingEntry[], next: AwaitingEntry[]): AwaitingEntry[] {
  const before = new Map(prev.map((e) => [e.addressId, e.code]));
  return next.filter((e) => before.get(e.addressId) !== e.code);
}

/** Stored / published form (base units as strings). */
export interface AwaitingWire {
  addressId: string;
  address: string;
  amount: string;
  code: AwaitingCode;
  reason: string;
  estimatedFee: string | null;
}

export const toWire = (e: AwaitingEntry): AwaitingWire => ({ ...e, amount: e.amount.toString(), estimatedFee: e.estimatedFee?.toString() ?? null });
export const fromWire = (e: AwaitingWire): AwaitingEntry => ({
  ...e,
  amount: BigInt(e.amount),
  estimatedFee: e.estimatedFee === null ? null : BigInt(e.estimatedFee),
});
