import { createHash } from 'node:crypto';
import type { Plan, PlanInput, PlanStep, Ratio, Role, SourceAddress, StepAction, StepKind, Waiting, Wallet, Wallets } from './planner-types';

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

/** One destination of an address's coin: a fixed amount, or (null) whatever remains. */
export interface Part {
  wallet: Wallet;
  role: Role;
  amount: bigint | null;
}

export const allToHot = (w: Wallets): Part => ({ wallet: w.hot, role: 'HOT', amount: null });

/**
 * Where one address's coin goes: onwards when held (never into HOT); split at the hot target when
 * it `crosses` it and a second destination exists; else wherever is still short.
 */
export function destinations(w: Wallets, hotNeed: bigint, held: boolean, crosses: boolean): Part[] {
  const rest = restDestination(w);
  const onwards: Part = { wallet: rest.wallet, role: rest.role, amount: null };
  if (held) return [onwards];
  if (crosses && hotNeed > 0n && rest.role !== 'HOT') return [{ ...allToHot(w), amount: hotNeed }, onwards];
  return hotNeed > 0n ? [allToHot(w)] : [onwards];
}

/**
 * The plan being built: its steps, what waits, what went where (HOT's need shrinks as it fills),
 * where what HOT does not need goes, and the funder's native left for top-ups.
 */
export interface PlanState {
  steps: PlanStep[];
  waiting: Waiting[];
  add: (s: Omit<PlanStep, 'id' | 'seq'>) => PlanStep;
  rest: { wallet: Wallet; role: Role };
  hotNeed: bigint;
  toHot: bigint;
  toRest: bigint;
  funderLeft: bigint;
}

export function startPlan(input: PlanInput): PlanState {
  const steps: PlanStep[] = [];
  const hotNeed = input.policy.hotTarget > input.hotBalance ? input.policy.hotTarget - input.hotBalance : 0n;
  const rest = restDestination(input.wallets);
  return { steps, waiting: [], add: stepAppender(input.planId, steps), rest, hotNeed, toHot: 0n, toRest: 0n, funderLeft: input.funderNativeBalance ?? 0n };
}

export function credit(plan: PlanState, role: Role, amount: bigint): void {
  if (role === 'HOT') {
    plan.toHot += amount;
    plan.hotNeed = plan.hotNeed > amount ? plan.hotNeed - amount : 0n;
  } else plan.toRest += amount;
}

export function finishPlan(input: PlanInput, plan: PlanState): Plan {
  const { steps, waiting, toHot, toRest } = plan;
  return { planId: input.planId, coinId: input.coinId, steps, waiting, toHot, toRest, fees: steps.reduce((a, s) => a + s.fee, 0n) };
}

/**
 * The sources in sweep order, less those that wait, recorded as they come (so `waiting` stays in
 * source order): below the threshold, or (`holdsWait`) with held funds only HOT could take.
 * Bitcoin passes false: it sorts held outputs itself.
 */
export function* sweepable(input: PlanInput, plan: PlanState, holdsWait: boolean): Generator<SourceAddress> {
  for (const src of ordered(input.sources)) {
    if (src.balance < input.policy.collectThreshold || src.balance === 0n)
      plan.waiting.push({ address: src.address, reason: 'below_threshold', amount: src.balance });
    else if (holdsWait && plan.rest.role === 'HOT' && (src.held ?? 0n) > 0n)
      plan.waiting.push({ address: src.address, reason: 'held', amount: src.balance, held: src.held });
    else yield src;
  }
}

/** Takes `need` from what the funder has left, or records that the address waits for it. */
export function spendFunder(plan: PlanState, src: SourceAddress, need: bigint): boolean {
  if (plan.funderLeft < need) {
    plan.waiting.push({ address: src.address, reason: 'funder_short', amount: src.balance, need, have: plan.funderLeft });
    return false;
  }
  plan.funderLeft -= need;
  return true;
}

/** A funder step towards a USER address: native for its fees, or energy lent and taken back (Tron). */
export function fundingStep(
  input: PlanInput,
  to: Wallet,
  s: { action: 'topup' | 'delegate' | 'undelegate'; amount: bigint; fee: bigint; after: string[] },
): Omit<PlanStep, 'id' | 'seq'> {
  const funder = funderOf(input.wallets);
  const { action, amount, fee, after } = s;
  return {
    kind: 'gas_topup',
    action,
    coinId: input.nativeCoinId,
    fromRole: funder.role,
    from: [funder.wallet],
    to,
    toRole: 'USER',
    amount,
    sweepAll: false,
    fee,
    after,
  };
}

/**
 * One transfer of `moved` from a USER address per part, in nonce order (each after the previous,
 * the first after `before`); with `sweepLast` the part without a fixed amount sweeps all that is left.
 */
export function addTransfers(
  plan: PlanState,
  from: Wallet,
  parts: Part[],
  moved: bigint,
  t: { action: StepAction; coinId: string; fee: bigint; sweepLast: boolean; before: string[] },
): string[] {
  let remaining = moved;
  const ids: string[] = [];
  for (const part of parts) {
    const amount = part.amount ?? remaining;
    remaining -= amount;
    const { id } = plan.add({
      kind: kindOf(part.role),
      action: t.action,
      coinId: t.coinId,
      fromRole: 'USER',
      from: [from],
      to: part.wallet,
      toRole: part.role,
      amount,
      sweepAll: t.sweepLast && part.amount === null,
      fee: t.fee,
      after: [...t.before, ...ids.slice(-1)],
    });
    ids.push(id);
    credit(plan, part.role, amount);
  }
  return ids;
}
