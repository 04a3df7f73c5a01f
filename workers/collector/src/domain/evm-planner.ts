import type { Plan, PlanInput } from './planner-types';
import {
  addTransfers,
  allToHot,
  destinations,
  feeInCoin,
  finishPlan,
  funderOf,
  fundingStep,
  kindOf,
  spendFunder,
  startPlan,
  sweepable,
  withinRatio,
} from './planner-rules';

/**
 * The EVM branch of the sweep planner, pure (rules and shapes: see planner.ts). Token: per
 * address a gas top-up, the transfer(s), an optional native dust sweep back to the funder;
 * native: one transfer of everything less its fee. The address crossing the hot target is split.
 */

export function planEvm(input: PlanInput): Plan {
  const evm = input.evm!;
  const ratio = input.policy.maxFeeRatio;
  const plan = startPlan(input);
  const funder = funderOf(input.wallets);
  const transferGas = input.isToken ? evm.tokenTransferGas : evm.nativeTransferGas;
  const transferFee = transferGas * evm.maxFeePerGas;
  const topUpFee = evm.nativeTransferGas * evm.maxFeePerGas;

  for (const src of sweepable(input, plan, true)) {
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
    const crosses = input.isToken ? src.balance > plan.hotNeed : src.balance - transferFee * 2n > plan.hotNeed;
    let parts = destinations(input.wallets, plan.hotNeed, held, crosses);
    const single = decide(1n);
    let d = single;
    if (parts.length === 2) {
      // The second transfer's fee must fit the ratio too: else all of it goes to HOT.
      const split = decide(2n);
      if (split.ok) d = split;
      else parts = [allToHot(input.wallets)];
    }
    if (!d.ok) {
      // The single transfer is the cheapest way to move it: its figures are the ones reported.
      plan.waiting.push({
        address: src.address,
        reason: single.moved <= 0n ? 'dust' : 'fee_ratio',
        amount: src.balance,
        fee: single.feeNative,
        feeInCoin: input.isToken ? feeInCoin(single.feeNative, input.nativeToCoin) : single.feeNative,
        moved: single.moved > 0n ? single.moved : 0n,
      });
      continue;
    }
    const user = { addressId: src.addressId, address: src.address };
    const before: string[] = [];
    if (d.topUp > 0n) {
      if (!spendFunder(plan, src, d.topUp + topUpFee)) continue;
      before.push(plan.add(fundingStep(input, user, { action: 'topup', amount: d.topUp, fee: topUpFee, after: [] })).id);
    }
    // Transfers from one address go in nonce order; the last native one takes everything left,
    // less its fee at signing time.
    const sweepIds = addTransfers(plan, user, parts, d.moved, {
      action: input.isToken ? 'token' : 'native',
      coinId: input.coinId,
      fee: transferFee,
      sweepLast: !input.isToken,
      before,
    });
    if (input.isToken) {
      // Native left after the token transfers (planned at max fee: the real leftover is larger).
      const left = (src.nativeBalance ?? 0n) + d.topUp - transferFee * BigInt(parts.length);
      const movable = left - topUpFee;
      if (movable > 0n && withinRatio(topUpFee, movable, ratio)) {
        plan.add({
          kind: kindOf(funder.role),
          action: 'dust',
          coinId: input.nativeCoinId,
          fromRole: 'USER',
          from: [user],
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
  return finishPlan(input, plan);
}
