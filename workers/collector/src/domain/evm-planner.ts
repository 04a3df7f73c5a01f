import type { Plan, PlanInput, PlanStep, Role, Wallet, Waiting } from './planner-types';
import { feeInCoin, funderOf, kindOf, ordered, restDestination, stepAppender, withinRatio } from './planner-rules';

/**
 * The EVM branch of the sweep planner, pure (rules and shapes: see planner.ts). Token: per
 * address a gas top-up, the transfer(s), an optional native dust sweep back to the funder;
 * native: one transfer of everything less its fee. The address crossing the hot target is split.
 */

export function planEvm(input: PlanInput): Plan {
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
