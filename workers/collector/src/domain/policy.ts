import type { CoinConfig } from '@cpg/chains';
import { parseDecimalRatio } from '@cpg/core/money';
import type { PlannerPolicy, Ratio } from './planner-types';

/**
 * The defaults for a coin without a policy: the same as the address subgraph documents and lists
 * (subgraphs/address/src/domain/collection.ts): threshold 10 x minDeposit, hot target
 * 1,000,000 x minDeposit, no cold wallet, fees at most 2% of what moves.
 * On dev networks (anvil, litecoind regtest) a typical test payment must be swept, so the
 * threshold is 1 x minDeposit and fees may take up to half of what moves.
 */
export const DEFAULT_MAX_FEE_RATIO = '0.02';
export const DEV_MAX_FEE_RATIO = '0.5';

export interface StoredPolicy {
  collectThreshold: bigint;
  hotTarget: bigint;
  coldWalletAddress: string | null;
  maxFeeRatio: string;
}

export function defaultPolicy(coin: Pick<CoinConfig, 'minDeposit'>, dev = false): StoredPolicy {
  const unit = coin.minDeposit > 0n ? coin.minDeposit : 1n;
  return {
    collectThreshold: dev ? unit : unit * 10n,
    hotTarget: unit * 1_000_000n,
    coldWalletAddress: null,
    maxFeeRatio: dev ? DEV_MAX_FEE_RATIO : DEFAULT_MAX_FEE_RATIO,
  };
}

export function plannerPolicy(p: StoredPolicy): PlannerPolicy {
  const r = parseDecimalRatio(p.maxFeeRatio, 18);
  return { collectThreshold: p.collectThreshold, hotTarget: p.hotTarget, maxFeeRatio: { numerator: r.numerator, denominator: r.denominator } };
}

/**
 * Base units of `coin` per base unit of the native coin, from USD prices per whole coin (decimal
 * strings such as "3000" and "1"): (nativeUsd / coinUsd) x 10^(coinDecimals - nativeDecimals).
 */
export function nativeToCoin(nativeUsd: string, nativeDecimals: number, coinUsd: string, coinDecimals: number): Ratio {
  const n = parseDecimalRatio(nativeUsd, 18);
  const c = parseDecimalRatio(coinUsd, 18);
  if (c.numerator === 0n) throw new RangeError('the coin price must not be zero');
  let numerator = n.numerator * c.denominator;
  let denominator = n.denominator * c.numerator;
  const shift = coinDecimals - nativeDecimals;
  if (shift >= 0) numerator *= 10n ** BigInt(shift);
  else denominator *= 10n ** BigInt(-shift);
  return { numerator, denominator };
}

/** "BTC:USD=65000,ETH:USD=3000" (the RATES_STATIC format) -> { BTC: "65000", ETH: "3000" } (USD only). */
export function usdPrices(spec: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (spec ?? '').split(',')) {
    const m = /^\s*([A-Za-z0-9]+):USD=([0-9.]+)\s*$/i.exec(part);
    if (m) out[m[1]!.toUpperCase()] = m[2]!;
  }
  return out;
}
