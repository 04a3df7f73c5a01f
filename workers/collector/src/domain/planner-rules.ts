import { createHash } from 'node:crypto';
import type { PlanStep, Ratio, Role, SourceAddress, StepKind, Wallet, Wallets } from './planner-types';

/** The rules every family's planner shares: fee ratios, destinations, step ids and order. Pure. */

/** UUID-shaped id from a name (sha256, version nibble 5-style), stable across runs. */
export function stepId(planId: string, seq: number): string {
  const h = createHash('sha256').update(`${planId}:${seq}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** fee (native units) valued in the coin, rounded up: a fee is never undervalued. */
export function feeInCoin(feeNative: bigint, nativeToCoin: Ratio): bigint {
  const p = feeNative * nativeToCoin.numerator;
  return (p + nativeToCoin.denominator - 1n) / nativeToCoin.denominator;
}

/** fee <= ratio x moved, exactly (moved and fee in the same unit). */
export function withinRatio(fee: bigint, moved: bigint, ratio: Ratio): boolean {
  if (moved <= 0n) return false;
  return fee * ratio.denominator <= moved * ratio.numerator;
}

export function restDestination(w: Wallets): { wallet: Wallet; role: Role } {
  if (w.cold) return { wallet: w.cold, role: 'COLD' };
  if (w.tokensCollector) return { wallet: w.tokensCollector, role: 'TOKENS_COLLECTOR' };
  return { wallet: w.hot, role: 'HOT' };
}

/** Who pays gas top-ups: the merchant's TOKENS_COLLECTOR when it has one, else its HOT wallet. */
export function funderOf(w: Wallets): { wallet: Wallet; role: 'TOKENS_COLLECTOR' | 'HOT' } {
  return w.tokensCollector ? { wallet: w.tokensCollector, role: 'TOKENS_COLLECTOR' } : { wallet: w.hot, role: 'HOT' };
}

/** Appends steps to `steps` in order, each with its sequence number and stable id. */
export function stepAppender(planId: string, steps: PlanStep[]): (s: Omit<PlanStep, 'id' | 'seq'>) => PlanStep {
  let seq = 0;
  return (s) => {
    const step = { ...s, id: stepId(planId, seq), seq };
    seq += 1;
    steps.push(step);
    return step;
  };
}

export const kindOf = (role: Role): StepKind => (role === 'HOT' ? 'sweep' : 'cold_forward');

/** Largest balances first (fewest transactions to fill HOT), address as the tie-break: deterministic. */
export function ordered(sources: SourceAddress[]): SourceAddress[] {
  return [...sources].sort((a, b) => (a.balance === b.balance ? (a.address < b.address ? -1 : a.address > b.address ? 1 : 0) : a.balance > b.balance ? -1 : 1));
}
