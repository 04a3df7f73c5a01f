import { planBitcoin } from './bitcoin-planner';
import { planEvm } from './evm-planner';
import type { Plan, PlanInput } from './planner-types';
import { planTron } from './tron-planner';

export * from './planner-types';
export { feeInCoin, stepId, withinRatio } from './planner-rules';
export { MAX_INPUTS } from './bitcoin-planner';

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
