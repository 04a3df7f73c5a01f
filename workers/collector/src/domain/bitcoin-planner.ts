import { consolidationFee, marginalInputFee, P2WPKH_SCRIPT_LENGTH } from '@cpg/chains/bitcoin/fees';
import type { Plan, PlanInput, Role, SourceAddress, Utxo, Wallet } from './planner-types';
import { credit, finishPlan, kindOf, startPlan, sweepable, withinRatio } from './planner-rules';

/**
 * The Bitcoin-family branch of the sweep planner, pure: one consolidation transaction per
 * destination, spending the eligible addresses' outputs (largest first to HOT until the target
 * is covered), one P2WPKH output each. Sizes and fees are the chain layer's estimator.
 */

/** Inputs per consolidation: 400 x 68 vB stays well under the 100 kvB standardness limit. */
export const MAX_INPUTS = 400;

export function planBitcoin(input: PlanInput): Plan {
  const fee = input.bitcoin!;
  const ratio = input.policy.maxFeeRatio;
  const plan = startPlan(input);
  const { waiting } = plan;
  const perInput = marginalInputFee(fee.satPerKvB);
  type Coin = Utxo & { owner: SourceAddress };
  const coins: Coin[] = [];
  for (const src of sweepable(input, plan, false)) {
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
  const P2WPKH = P2WPKH_SCRIPT_LENGTH;
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
    plan.add({
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
    credit(plan, role, amount);
    return true;
  };
  const { hotNeed, rest } = plan;
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
  return finishPlan(input, plan);
}
