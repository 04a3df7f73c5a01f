import { createHash } from 'node:crypto';
import { consolidationFee, marginalInputFee } from './bitcoin-fee';
import { type TronAccountState, type TronFeeEstimate, planTron } from './tron-planner';

export type { TronAccountState, TronFeeEstimate } from './tron-planner';

/**
 * The sweep planner, pure: given what the merchant's USER addresses hold of one coin, the
 * collection policy, the wallets and a fee estimate, it decides which transactions to make.
 *
 * Rules (every family):
 * - An address is swept once its confirmed balance reaches `collectThreshold`.
 * - Destination: HOT until its balance reaches `hotTarget`; the rest to COLD, or to
 *   TOKENS_COLLECTOR when no cold wallet is registered, or to HOT when neither exists.
 * - Never more in fees than `maxFeeRatio` of what moves (fees valued in the swept coin through
 *   `nativeToCoin`): a sweep that would cost more waits (listed in `waiting`) until it is worth it.
 * - Dust is left alone: a Bitcoin output whose own input cost exceeds its share, an EVM native
 *   leftover smaller than what moving it costs.
 *
 * Shapes:
 * - EVM token: per address `gas_topup` (native from TOKENS_COLLECTOR, else HOT: the estimated gas
 *   with a margin, less what the address already holds) -> token transfer(s) -> an optional native
 *   dust sweep back to the funder. The address crossing the hot target is split in two transfers
 *   (exactly the missing amount to HOT, the rest onwards) when the extra fee fits the ratio.
 * - EVM native: per address one transfer of everything less its fee (split likewise).
 * - Bitcoin family: one consolidation transaction per destination, spending the eligible
 *   addresses' outputs (largest first to HOT until the target is covered; it may overshoot by
 *   less than one output), one P2WPKH output each.
 */

export interface Ratio {
  numerator: bigint;
  denominator: bigint;
}

export interface PlannerPolicy {
  collectThreshold: bigint;
  hotTarget: bigint;
  maxFeeRatio: Ratio;
}

export interface Wallet {
  addressId: string;
  address: string;
}

export interface Wallets {
  hot: Wallet;
  cold: Wallet | null;
  tokensCollector: Wallet | null;
}

export interface Utxo {
  txid: string;
  vout: number;
  value: bigint;
}

export interface SourceAddress extends Wallet {
  /** Confirmed balance of the coin being collected (base units). */
  balance: bigint;
  /** EVM tokens: the address's native balance (pays its own gas). */
  nativeBalance?: bigint;
  /** Bitcoin family: its confirmed unspent outputs (their sum is `balance`). */
  utxos?: Utxo[];
  /** Tron: the account's state (a never-seen address has no account until a TRX transfer creates it). */
  tron?: TronAccountState;
  /**
   * Part of the balance compliance holds (BLOCK or under review). Such an address is never swept
   * into HOT: it goes to COLD / TOKENS_COLLECTOR, or waits when neither exists.
   */
  held?: bigint;
}

export interface EvmFeeEstimate {
  /** Max fee per gas to sign with (wei); fees are planned at it, so they are upper bounds. */
  maxFeePerGas: bigint;
  /** Gas limit of one token transfer (simulated or a conservative constant such as 65000). */
  tokenTransferGas: bigint;
  /** Gas of a native transfer to an EOA: 21000. */
  nativeTransferGas: bigint;
  /** Extra on a gas top-up, in percent of the estimated gas cost (e.g. 20). */
  topUpMarginPercent: bigint;
}

export interface BitcoinFeeEstimate {
  /** sat per 1000 vB. */
  satPerKvB: bigint;
  /** An output below this is refused by nodes (P2WPKH: 294 sat on Bitcoin, 2940 on Litecoin). */
  dustThreshold: bigint;
}

export interface PlanInput {
  planId: string;
  family: 'EVM' | 'BITCOIN' | 'TRON';
  coinId: string;
  nativeCoinId: string;
  /** Token contract present: an EVM token (gas paid in the native coin). */
  isToken: boolean;
  policy: PlannerPolicy;
  wallets: Wallets;
  /** What the HOT wallet holds of the coin now (base units). */
  hotBalance: bigint;
  /** EVM tokens: the funder's (TOKENS_COLLECTOR, else HOT) native balance, to limit top-ups. */
  funderNativeBalance?: bigint;
  sources: SourceAddress[];
  /** Base units of the coin per base unit of the native coin (1/1 for a native coin). */
  nativeToCoin: Ratio;
  evm?: EvmFeeEstimate;
  bitcoin?: BitcoinFeeEstimate;
  tron?: TronFeeEstimate;
}

export type StepKind = 'gas_topup' | 'sweep' | 'cold_forward';
/** `delegate` / `undelegate`: Tron energy of the funder's staked TRX lent to a USER address and taken back. */
export type StepAction = 'topup' | 'token' | 'native' | 'dust' | 'consolidate' | 'delegate' | 'undelegate';
export type Role = 'USER' | 'HOT' | 'COLD' | 'TOKENS_COLLECTOR';

export interface PlanStep {
  /** Deterministic from the plan id and position, so a re-planned step never gets a second id. */
  id: string;
  seq: number;
  kind: StepKind;
  action: StepAction;
  coinId: string;
  fromRole: 'USER' | 'HOT' | 'TOKENS_COLLECTOR';
  from: Wallet[];
  /** Bitcoin consolidation: the outputs to spend, each with the USER address that owns it. */
  inputs?: (Utxo & { addressId: string })[];
  to: Wallet;
  toRole: Role;
  /** Base units of coinId; for `sweepAll` steps an estimate (everything less the fee at signing). */
  amount: bigint;
  sweepAll: boolean;
  /** Estimated fee, base units of the native coin (upper bound). */
  fee: bigint;
  /** Step ids that must be confirmed on chain before this one is signed. */
  after: string[];
}

export type WaitingReason = 'below_threshold' | 'fee_ratio' | 'dust' | 'funder_short' | 'held';

/**
 * An address the plan leaves for later, with the figures that made the decision, so the reason
 * shown to the merchant can say how far it is from being swept (see waiting.ts).
 */
export interface Waiting {
  address: string;
  reason: WaitingReason;
  /** What the address holds of the coin (base units). */
  amount?: bigint;
  /** fee_ratio / dust: the fees the sweep would pay (native base units, upper bound) ... */
  fee?: bigint;
  /** ... that fee valued in the coin (base units of the coin; equal to `fee` for a native coin) ... */
  feeInCoin?: bigint;
  /** ... and what would arrive (base units of the coin), against which the ratio is taken. */
  moved?: bigint;
  /** funder_short: native the gas top-up needs (its amount and fee) and what the funder has left. */
  need?: bigint;
  have?: bigint;
  /** held: the part compliance holds. */
  held?: bigint;
}

export interface Plan {
  planId: string;
  coinId: string;
  steps: PlanStep[];
  waiting: Waiting[];
  /** Total of coinId moved to each destination role. */
  toHot: bigint;
  toRest: bigint;
  /** Sum of step fee estimates (native base units). */
  fees: bigint;
}

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

/** Inputs per consolidation: 400 x 68 vB stays well under the 100 kvB standardness limit. */
export const MAX_INPUTS = 400;

export const kindOf = (role: Role): StepKind => (role === 'HOT' ? 'sweep' : 'cold_forward');

export function planSweep(input: PlanInput): Plan {
  validate(input);
  if (input.family === 'EVM') return planEvm(input);
  if (input.family === 'TRON') return planTron(input);
  return planBitcoin(input);
}

function validate(input: PlanInput): void {
  const r = input.policy.maxFeeRatio;
  if (r.denominator <= 0n || r.numerator <= 0n || r.numerator >= r.denominator) throw new RangeError('maxFeeRatio must be strictly between 0 and 1');
  if (input.policy.collectThreshold <= 0n) throw new RangeError('collectThreshold must be positive');
  if (input.policy.hotTarget < 0n) throw new RangeError('hotTarget must not be negative');
  if (input.nativeToCoin.denominator <= 0n || input.nativeToCoin.numerator < 0n) throw new RangeError('nativeToCoin must be a non-negative ratio');
  for (const s of input.sources) if (s.balance < 0n) throw new RangeError(`negative balance at ${s.address}`);
  if (input.family === 'EVM' && !input.evm) throw new RangeError('EVM plans need an EVM fee estimate');
  if (input.family === 'BITCOIN' && !input.bitcoin) throw new RangeError('Bitcoin plans need a fee estimate');
  if (input.family === 'BITCOIN' && input.isToken) throw new RangeError('Bitcoin-family networks have no tokens');
  if (input.family === 'TRON' && !input.tron) throw new RangeError('Tron plans need a resource estimate');
}

/** Largest balances first (fewest transactions to fill HOT), address as the tie-break: deterministic. */
export function ordered(sources: SourceAddress[]): SourceAddress[] {
  return [...sources].sort((a, b) => (a.balance === b.balance ? (a.address < b.address ? -1 : a.address > b.address ? 1 : 0) : a.balance > b.balance ? -1 : 1));
}

function planEvm(input: PlanInput): Plan {
  const evm = input.evm!;
  const ratio = input.policy.maxFeeRatio;
  const steps: PlanStep[] = [];
  const waiting: Waiting[] = [];
  let hotNeed = input.policy.hotTarget > input.hotBalance ? input.policy.hotTarget - input.hotBalance : 0n;
  const rest = restDestination(input.wallets);
  const funder = funderOf(input.wallets);
  let funderLeft = input.funderNativeBalance ?? 0n;
  const transferGas = input.isToken ? evm.tokenTransferGas : evm.nativeTransferGas;
  const transferFee = transferGas * evm.maxFeePerGas;
  const topUpFee = evm.nativeTransferGas * evm.maxFeePerGas;
  let toHot = 0n;
  let toRest = 0n;
  const add = stepAppender(input.planId, steps);

  for (const src of ordered(input.sources)) {
    if (src.balance < input.policy.collectThreshold || src.balance === 0n) {
      waiting.push({ address: src.address, reason: 'below_threshold', amount: src.balance });
      continue;
    }
    // What moves of the coin (native: the balance less the fee of each transfer).
    const decide = (transfers: bigint): { moved: bigint; ok: boolean; feeNative: bigint; topUp: bigint } => {
      const gasCost = transferFee * transfers;
      if (!input.isToken) {
        const moved = src.balance - gasCost;
        return { moved, ok: moved > 0n && withinRatio(gasCost, moved, ratio), feeNative: gasCost, topUp: 0n };
      }
      const withMargin = (gasCost * (100n + evm.topUpMarginPercent) + 99n) / 100n;
      const have = src.nativeBalance ?? 0n;
      const topUp = withMargin > have ? withMargin - have : 0n;
      const feeNative = gasCost + (topUp > 0n ? topUpFee : 0n);
      return { moved: src.balance, ok: withinRatio(feeInCoin(feeNative, input.nativeToCoin), src.balance, ratio), feeNative, topUp };
    };
    const held = (src.held ?? 0n) > 0n;
    if (held && rest.role === 'HOT') {
      waiting.push({ address: src.address, reason: 'held', amount: src.balance, held: src.held });
      continue;
    }
    // Split only when this address crosses the hot target and a second destination exists.
    const canSplit = hotNeed > 0n && rest.role !== 'HOT';
    let parts: { wallet: Wallet; role: Role; amount: bigint | null }[];
    let d = decide(1n);
    const single = d;
    if (held) {
      parts = [{ wallet: rest.wallet, role: rest.role, amount: null }];
    } else if (canSplit && (input.isToken ? src.balance > hotNeed : src.balance - transferFee * 2n > hotNeed)) {
      const split = decide(2n);
      if (split.ok) {
        d = split;
        parts = [
          { wallet: input.wallets.hot, role: 'HOT', amount: hotNeed },
          { wallet: rest.wallet, role: rest.role, amount: null },
        ];
      } else {
        parts = [{ wallet: input.wallets.hot, role: 'HOT', amount: null }];
      }
    } else {
      parts = hotNeed > 0n ? [{ wallet: input.wallets.hot, role: 'HOT', amount: null }] : [{ wallet: rest.wallet, role: rest.role, amount: null }];
    }
    if (!d.ok) {
      // The single transfer is the cheapest way to move it: its figures are the ones reported.
      waiting.push({
        address: src.address,
        reason: single.moved <= 0n ? 'dust' : 'fee_ratio',
        amount: src.balance,
        fee: single.feeNative,
        feeInCoin: input.isToken ? feeInCoin(single.feeNative, input.nativeToCoin) : single.feeNative,
        moved: single.moved > 0n ? single.moved : 0n,
      });
      continue;
    }
    const after: string[] = [];
    if (d.topUp > 0n) {
      if (funderLeft < d.topUp + topUpFee) {
        waiting.push({ address: src.address, reason: 'funder_short', amount: src.balance, need: d.topUp + topUpFee, have: funderLeft });
        continue;
      }
      funderLeft -= d.topUp + topUpFee;
      const t = add({
        kind: 'gas_topup',
        action: 'topup',
        coinId: input.nativeCoinId,
        fromRole: funder.role,
        from: [funder.wallet],
        to: { addressId: src.addressId, address: src.address },
        toRole: 'USER',
        amount: d.topUp,
        sweepAll: false,
        fee: topUpFee,
        after: [],
      });
      after.push(t.id);
    }
    const movedTotal = d.moved;
    let remaining = movedTotal;
    const sweepIds: string[] = [];
    for (const part of parts) {
      const amount = part.amount ?? remaining;
      remaining -= amount;
      const s = add({
        kind: kindOf(part.role),
        action: input.isToken ? 'token' : 'native',
        coinId: input.coinId,
        fromRole: 'USER',
        from: [{ addressId: src.addressId, address: src.address }],
        to: part.wallet,
        toRole: part.role,
        amount,
        // The last native transfer takes everything left, less its fee at signing time.
        sweepAll: !input.isToken && part.amount === null,
        fee: transferFee,
        // Transfers from one address go in nonce order: each waits for the previous.
        after: [...after, ...sweepIds.slice(-1)],
      });
      sweepIds.push(s.id);
      if (part.role === 'HOT') {
        toHot += amount;
        hotNeed = hotNeed > amount ? hotNeed - amount : 0n;
      } else toRest += amount;
    }
    if (input.isToken) {
      // Native left after the token transfers (planned at max fee: the real leftover is larger).
      const left = (src.nativeBalance ?? 0n) + d.topUp - transferFee * BigInt(parts.length);
      const movable = left - topUpFee;
      if (movable > 0n && withinRatio(topUpFee, movable, ratio)) {
        add({
          kind: kindOf(funder.role),
          action: 'dust',
          coinId: input.nativeCoinId,
          fromRole: 'USER',
          from: [{ addressId: src.addressId, address: src.address }],
          to: funder.wallet,
          toRole: funder.role,
          amount: movable,
          sweepAll: true,
          fee: topUpFee,
          after: sweepIds.slice(-1),
        });
      }
    }
  }
  return { planId: input.planId, coinId: input.coinId, steps, waiting, toHot, toRest, fees: steps.reduce((a, s) => a + s.fee, 0n) };
}

function planBitcoin(input: PlanInput): Plan {
  const fee = input.bitcoin!;
  const ratio = input.policy.maxFeeRatio;
  const waiting: Waiting[] = [];
  const perInput = marginalInputFee(fee.satPerKvB);
  type Coin = Utxo & { owner: SourceAddress };
  const coins: Coin[] = [];
  for (const src of ordered(input.sources)) {
    if (src.balance < input.policy.collectThreshold || src.balance === 0n) {
      waiting.push({ address: src.address, reason: 'below_threshold', amount: src.balance });
      continue;
    }
    const usable = (src.utxos ?? []).filter((u) => withinRatio(perInput, u.value - perInput, ratio));
    if (usable.length === 0) {
      const n = BigInt(src.utxos?.length ?? 0);
      waiting.push({
        address: src.address,
        reason: 'dust',
        amount: src.balance,
        fee: perInput * n,
        feeInCoin: perInput * n,
        moved: src.balance - perInput * n,
      });
    }
    for (const u of usable) coins.push({ ...u, owner: src });
  }
  // Largest first, then by outpoint: deterministic. Beyond MAX_INPUTS the smallest wait for the
  // next plan (a standard transaction stays under 100 kvB).
  coins.sort((a, b) => (a.value === b.value ? (a.txid === b.txid ? a.vout - b.vout : a.txid < b.txid ? -1 : 1) : a.value > b.value ? -1 : 1));
  coins.splice(MAX_INPUTS);
  const steps: PlanStep[] = [];
  let seq = 0;
  let toHot = 0n;
  let toRest = 0n;
  const P2WPKH = 22;
  const tx = (group: Coin[], to: Wallet, role: Role): boolean => {
    if (group.length === 0) return false;
    const sum = group.reduce((a, c) => a + c.value, 0n);
    const f = consolidationFee(group.length, [P2WPKH], fee.satPerKvB);
    const amount = sum - f;
    if (amount < fee.dustThreshold || !withinRatio(f, amount, ratio)) {
      // The consolidation as a whole is what costs too much: each address reports its figures.
      for (const c of group)
        if (!waiting.some((w) => w.address === c.owner.address))
          waiting.push({ address: c.owner.address, reason: 'fee_ratio', amount: c.owner.balance, fee: f, feeInCoin: f, moved: amount > 0n ? amount : 0n });
      return false;
    }
    const from: Wallet[] = [];
    for (const c of group) if (!from.some((w) => w.address === c.owner.address)) from.push({ addressId: c.owner.addressId, address: c.owner.address });
    steps.push({
      id: stepId(input.planId, seq),
      seq,
      kind: kindOf(role),
      action: 'consolidate',
      coinId: input.coinId,
      fromRole: 'USER',
      from,
      inputs: group.map(({ txid, vout, value, owner }) => ({ txid, vout, value, addressId: owner.addressId })),
      to,
      toRole: role,
      amount,
      sweepAll: false,
      fee: f,
      after: [],
    });
    seq += 1;
    if (role === 'HOT') toHot += amount;
    else toRest += amount;
    return true;
  };
  const hotNeed = input.policy.hotTarget > input.hotBalance ? input.policy.hotTarget - input.hotBalance : 0n;
  const rest = restDestination(input.wallets);
  // Outputs of addresses with held funds never go to HOT: onwards only, or they wait.
  const isHeld = (c: Coin) => (c.owner.held ?? 0n) > 0n;
  const free = coins.filter((c) => !isHeld(c));
  const heldCoins = coins.filter(isHeld);
  if (rest.role === 'HOT') {
    for (const c of heldCoins)
      if (!waiting.some((w) => w.address === c.owner.address))
        waiting.push({ address: c.owner.address, reason: 'held', amount: c.owner.balance, held: c.owner.held });
    tx(free, input.wallets.hot, 'HOT');
  } else {
    // Fill HOT with the largest free outputs until what arrives (less the fee) covers the need.
    const hot: Coin[] = [];
    let sum = 0n;
    let i = 0;
    while (hotNeed > 0n && i < free.length && sum - consolidationFee(Math.max(hot.length, 1), [P2WPKH], fee.satPerKvB) < hotNeed) {
      hot.push(free[i]!);
      sum += free[i]!.value;
      i += 1;
    }
    tx(hot, input.wallets.hot, 'HOT');
    tx([...free.slice(i), ...heldCoins], rest.wallet, rest.role);
  }
  return { planId: input.planId, coinId: input.coinId, steps, waiting, toHot, toRest, fees: steps.reduce((a, s) => a + s.fee, 0n) };
}
