import type { CoinConfig } from '@cpg/chains';
import { MoneyError, parseAmount, parseDecimalRatio } from '@cpg/core/money';
import { badInput } from '@cpg/core/graphql';

/**
 * Collection policies, pure. A coin without a stored policy is collected with the defaults below
 * (documented in the README; the collector applies the same ones):
 * - collectThreshold: 10 x the coin's minDeposit (e.g. 0.1 USDT, 0.001 ETH, 0.001 LTC);
 * - hotTarget: 1,000,000 x minDeposit (e.g. 10,000 USDT, 100 ETH, 100 LTC): in practice
 *   everything stays in the HOT wallet, ready for withdrawals, until the merchant sets a policy;
 * - coldWallet: none (a surplus goes to the TOKENS_COLLECTOR wallet, else stays in HOT);
 * - maxFeeRatio: "0.02" (never more than 2% of what moves is spent on fees).
 * Dev networks (network.dev: anvil, litecoind regtest) default to a threshold of 1 x minDeposit
 * and maxFeeRatio "0.5", so a typical dev payment is swept (mainnet defaults are unchanged).
 */
export const DEFAULT_MAX_FEE_RATIO = '0.02';
export const DEV_MAX_FEE_RATIO = '0.5';
export const DEFAULT_THRESHOLD_MULTIPLIER = 10n;
export const DEFAULT_HOT_TARGET_MULTIPLIER = 1_000_000n;
/** Finer than 1 ppm is meaningless for a fee cap and keeps the stored text short. */
export const MAX_FEE_RATIO_DECIMALS = 6;

export interface PolicyValues {
  collectThreshold: bigint;
  hotTarget: bigint;
  coldWalletId: string | null;
  maxFeeRatio: string;
}

export function defaultPolicy(coin: Pick<CoinConfig, 'minDeposit'>, dev = false): PolicyValues {
  const unit = coin.minDeposit > 0n ? coin.minDeposit : 1n;
  return {
    collectThreshold: dev ? unit : unit * DEFAULT_THRESHOLD_MULTIPLIER,
    hotTarget: unit * DEFAULT_HOT_TARGET_MULTIPLIER,
    coldWalletId: null,
    maxFeeRatio: dev ? DEV_MAX_FEE_RATIO : DEFAULT_MAX_FEE_RATIO,
  };
}

/**
 * A decimal fraction strictly between 0 and 1 with at most 6 decimals; returns its canonical form.
 * Omitted: `fallback` (the coin's default, see defaultPolicy).
 */
export function parseMaxFeeRatio(input: string | null | undefined, fallback = DEFAULT_MAX_FEE_RATIO): string {
  if (input === null || input === undefined) return fallback;
  let ratio;
  try {
    ratio = parseDecimalRatio(input, MAX_FEE_RATIO_DECIMALS);
  } catch (err) {
    if (err instanceof MoneyError) throw badInput(`maxFeeRatio: ${err.message}`, { field: 'maxFeeRatio' });
    throw err;
  }
  if (ratio.numerator <= 0n || ratio.numerator >= ratio.denominator) {
    throw badInput('maxFeeRatio must be greater than 0 and less than 1, e.g. "0.02"', { field: 'maxFeeRatio' });
  }
  const digits = ratio.denominator.toString().length - 1;
  return digits === 0 ? ratio.numerator.toString() : `0.${ratio.numerator.toString().padStart(digits, '0')}`;
}

/** A policy amount in base units of the coin; `field` names the input in the error. */
export function parsePolicyAmount(input: unknown, coin: Pick<CoinConfig, 'decimals'>, field: string, allowZero: boolean): bigint {
  try {
    return parseAmount(input, coin.decimals, { allowZero });
  } catch (err) {
    if (err instanceof MoneyError) throw badInput(`${field}: ${err.message}`, { field, reason: err.reason });
    throw err;
  }
}

export type SweepStatus = 'PLANNED' | 'BROADCAST' | 'CONFIRMED' | 'FAILED';
const RANK: Record<SweepStatus, number> = { PLANNED: 0, BROADCAST: 1, CONFIRMED: 2, FAILED: 2 };

/** Whether a sweep report may replace the stored one: statuses only move forward. */
export function advances(stored: SweepStatus | null, incoming: SweepStatus): boolean {
  if (stored === null) return true;
  return RANK[incoming] > RANK[stored];
}
