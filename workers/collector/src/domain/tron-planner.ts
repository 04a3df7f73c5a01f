import { sunForEnergy } from '@cpg/chains/tron/fees';
import type { Plan, PlanInput } from './planner-types';
import { addTransfers, allToHot, destinations, feeInCoin, finishPlan, fundingStep, spendFunder, startPlan, sweepable, withinRatio } from './planner-rules';

/**
 * The Tron branch of the sweep planner, pure. Tron has no gas price: a transaction pays with
 * resources. Bandwidth (its size in bytes) comes from the account's daily free bandwidth (600
 * bytes), else TRX is burnt per byte; a TRC-20 transfer also needs energy (about 65k to 130k
 * units for USDT), taken from energy the account holds (its own stake, or stake delegated to it),
 * else TRX is burnt per unit. A USER address holding only tokens has no TRX, and an address that
 * never received TRX has no account at all: it cannot send anything (nor be delegated to) until a
 * TRX transfer creates it, which costs the sender the activation fee.
 *
 * Per USER address (TRC-20):
 * - energy delegated: when the funder (TOKENS_COLLECTOR, else HOT) has TRX staked for energy that
 *   it can delegate, it lends enough for the transfer(s) (`delegate`), the token moves without
 *   burning TRX for energy, and the funder takes the stake back (`undelegate`). A TRX `topup`
 *   comes first only when the account must be created or its free bandwidth does not cover the
 *   transfer(s) (then it carries the bandwidth to burn).
 * - else burnt: a TRX `topup` of the energy and bandwidth the transfer(s) will burn, with a
 *   margin, less what the address holds (it also creates the account), then the transfer(s).
 * The destination rules (HOT to its target, the crossing address split, the rest onwards, holds
 * never into HOT, the fee ratio) are the EVM planner's. Native TRX: one transfer of the balance
 * less the bandwidth it would burn.
 */

export function planTron(input: PlanInput): Plan {
  const t = input.tron!;
  const ratio = input.policy.maxFeeRatio;
  const plan = startPlan(input);
  let delegatable = t.delegatableSun;
  // The funder's own transactions are assumed to burn their bandwidth: an upper bound.
  const systemTxFee = t.systemTxBytes * t.bandwidthFee;

  for (const src of sweepable(input, plan, true)) {
    const account = src.tron ?? { activated: false, energyLeft: 0n, freeNetLeft: 0n };
    const have = src.nativeBalance ?? 0n;
    const held = (src.held ?? 0n) > 0n;
    const user = { addressId: src.addressId, address: src.address };

    if (!input.isToken) {
      // Native TRX: one transfer, never split (an inactive account holds no TRX, so it is active here).
      const burn = account.freeNetLeft >= t.systemTxBytes ? 0n : systemTxFee;
      const amount = src.balance - burn;
      if (amount <= 0n || !withinRatio(burn, amount, ratio)) {
        plan.waiting.push({
          address: src.address,
          reason: amount <= 0n ? 'dust' : 'fee_ratio',
          amount: src.balance,
          fee: burn,
          feeInCoin: burn,
          moved: amount > 0n ? amount : 0n,
        });
        continue;
      }
      const dest = destinations(input.wallets, plan.hotNeed, held, false);
      addTransfers(plan, user, dest, amount, { action: 'native', coinId: input.coinId, fee: burn, sweepLast: false, before: [] });
      continue;
    }

    let parts = destinations(input.wallets, plan.hotNeed, held, src.balance > plan.hotNeed);
    const cost = (n: bigint) => {
      const energy = t.tokenTransferEnergy * n;
      const shortfall = energy > account.energyLeft ? energy - account.energyLeft : 0n;
      // Free bandwidth covers whole transactions only: one that does not fit burns all its bytes.
      let free = account.activated ? account.freeNetLeft : t.freeNetPerDay;
      let burntBytes = 0n;
      for (let i = 0n; i < n; i++) {
        if (free >= t.tokenTransferBytes) free -= t.tokenTransferBytes;
        else burntBytes += t.tokenTransferBytes;
      }
      const bandwidth = burntBytes * t.bandwidthFee;
      const delegateSun = sunForEnergy(shortfall, t.energyPerTrx);
      const delegate = shortfall > 0n && delegateSun <= delegatable;
      // What the USER address will burn itself, with the margin; the top-up brings what it lacks.
      const burns = (delegate ? 0n : shortfall * t.energyFee) + bandwidth;
      const withMargin = (burns * (100n + t.topUpMarginPercent) + 99n) / 100n;
      let topUp = withMargin > have ? withMargin - have : 0n;
      // Only a TRX transfer creates an account: the smallest one will do when nothing else is needed.
      if (!account.activated && topUp === 0n) topUp = 1n;
      const topUpFee = topUp > 0n ? (account.activated ? systemTxFee : t.activationFee) : 0n;
      const fee = burns + topUpFee + (delegate ? 2n * systemTxFee : 0n);
      const funderSpends = topUp + topUpFee + (delegate ? 2n * systemTxFee : 0n);
      return { fee, topUp, topUpFee, delegate, delegateSun: delegate ? delegateSun : 0n, funderSpends };
    };
    let d = cost(BigInt(parts.length));
    if (parts.length === 2 && !withinRatio(feeInCoin(d.fee, input.nativeToCoin), src.balance, ratio)) {
      parts = [allToHot(input.wallets)];
      d = cost(1n);
    }
    if (!withinRatio(feeInCoin(d.fee, input.nativeToCoin), src.balance, ratio)) {
      plan.waiting.push({
        address: src.address,
        reason: 'fee_ratio',
        amount: src.balance,
        fee: d.fee,
        feeInCoin: feeInCoin(d.fee, input.nativeToCoin),
        moved: src.balance,
      });
      continue;
    }
    if (!spendFunder(plan, src, d.funderSpends)) continue;
    const before: string[] = [];
    if (d.topUp > 0n) before.push(plan.add(fundingStep(input, user, { action: 'topup', amount: d.topUp, fee: d.topUpFee, after: [] })).id);
    // Energy lent to the user address for its sweep, and taken back after it (recorded as top-ups).
    if (d.delegate) {
      delegatable -= d.delegateSun;
      // Delegating to an account needs the account: after the top-up that creates it.
      before.push(plan.add(fundingStep(input, user, { action: 'delegate', amount: d.delegateSun, fee: systemTxFee, after: [...before] })).id);
    }
    const sweepIds = addTransfers(plan, user, parts, src.balance, { action: 'token', coinId: input.coinId, fee: 0n, sweepLast: false, before });
    if (d.delegate) plan.add(fundingStep(input, user, { action: 'undelegate', amount: d.delegateSun, fee: systemTxFee, after: sweepIds.slice(-1) }));
  }
  return finishPlan(input, plan);
}
