import { type PlanInput, type SourceAddress, type TronFeeEstimate, planSweep } from './planner';
import { sunForEnergy } from '@cpg/chains/tron/fees';

const PLAN = '11111111-2222-4333-8444-555555555555';
const hot = { addressId: 'h', address: 'THOT' };
const cold = { addressId: 'c', address: 'TCOLD' };
const TRX = 1_000_000n;
const USDT = 1_000_000n;
// 1 TRX = 0.12 USDT: 1 sun = 0.12 USDT base units.
const TRX_TO_USDT = { numerator: 12n, denominator: 100n };
const pct = (n: bigint) => ({ numerator: n, denominator: 100n });

const FEES: TronFeeEstimate = {
  energyFee: 100n,
  bandwidthFee: 1_000n,
  tokenTransferEnergy: 130_285n,
  tokenTransferBytes: 350n,
  systemTxBytes: 280n,
  activationFee: 1_100_000n,
  freeNetPerDay: 600n,
  topUpMarginPercent: 20n,
  delegatableSun: 0n,
  energyPerTrx: { numerator: 180_000_000_000n, denominator: 2_411_528_185n },
};

const fresh = { activated: false, energyLeft: 0n, freeNetLeft: 0n };

const user = (i: number, balance: bigint, extra: Partial<SourceAddress> = {}): SourceAddress => ({
  addressId: `u${i}`,
  address: `TU${i}`,
  balance,
  nativeBalance: 0n,
  tron: fresh,
  ...extra,
});

function usdt(over: Partial<PlanInput> = {}, fees: Partial<TronFeeEstimate> = {}): PlanInput {
  return {
    planId: PLAN,
    family: 'TRON',
    coinId: 'tron:USDT',
    nativeCoinId: 'tron:TRX',
    isToken: true,
    policy: { collectThreshold: 10n * USDT, hotTarget: 10_000n * USDT, maxFeeRatio: pct(2n) },
    wallets: { hot, cold: null, tokensCollector: null },
    hotBalance: 0n,
    funderNativeBalance: 1_000n * TRX,
    sources: [],
    nativeToCoin: TRX_TO_USDT,
    tron: { ...FEES, ...fees },
    ...over,
  };
}

describe('sunForEnergy', () => {
  it('stakes whole TRX, one more than the exact share, so the energy is always enough', () => {
    const sun = sunForEnergy(130_285n, FEES.energyPerTrx);
    expect(sun % TRX).toBe(0n);
    // Energy the receiver gets from it (java-tron: whole TRX x limit / weight).
    expect(((sun / TRX) * FEES.energyPerTrx.numerator) / FEES.energyPerTrx.denominator).toBeGreaterThanOrEqual(130_285n);
    expect(sunForEnergy(0n, FEES.energyPerTrx)).toBe(0n);
    expect(sunForEnergy(1n, FEES.energyPerTrx)).toBeGreaterThanOrEqual(TRX);
  });
});

describe('planSweep, Tron TRC-20', () => {
  it('without stake: tops up the energy to burn (with the margin) and creates the account, then sweeps', () => {
    const plan = planSweep(usdt({ sources: [user(0, 500n * USDT)] }));
    expect(plan.steps.map((s) => [s.kind, s.action, s.fromRole, s.to.address, s.amount])).toEqual([
      ['gas_topup', 'topup', 'HOT', 'TU0', (130_285n * 100n * 120n + 99n) / 100n],
      ['sweep', 'token', 'USER', 'THOT', 500n * USDT],
    ]);
    expect(plan.steps[0]!.fee).toBe(FEES.activationFee);
    expect(plan.steps[1]!.after).toEqual([plan.steps[0]!.id]);
    expect(plan.fees).toBe(FEES.activationFee);
  });

  it('with enough delegatable stake: creates the account with 1 sun, delegates, sweeps, undelegates', () => {
    const plan = planSweep(usdt({ sources: [user(0, 500n * USDT)] }, { delegatableSun: 3_000n * TRX }));
    const delegated = sunForEnergy(130_285n, FEES.energyPerTrx);
    expect(plan.steps.map((s) => [s.kind, s.action, s.amount])).toEqual([
      ['gas_topup', 'topup', 1n],
      ['gas_topup', 'delegate', delegated],
      ['sweep', 'token', 500n * USDT],
      ['gas_topup', 'undelegate', delegated],
    ]);
    const [t, d, s, u] = plan.steps;
    expect(d!.after).toEqual([t!.id]);
    expect(s!.after).toEqual([t!.id, d!.id]);
    expect(u!.after).toEqual([s!.id]);
  });

  it('an existing account with free bandwidth is lent energy without any top-up', () => {
    const plan = planSweep(
      usdt({ sources: [user(0, 500n * USDT, { tron: { activated: true, energyLeft: 0n, freeNetLeft: 600n } })] }, { delegatableSun: 3_000n * TRX }),
    );
    expect(plan.steps.map((s) => s.action)).toEqual(['delegate', 'token', 'undelegate']);
  });

  it('energy the address already holds is not bought again; TRX it holds reduces the top-up', () => {
    const plan = planSweep(
      usdt({ sources: [user(0, 500n * USDT, { nativeBalance: 20n * TRX, tron: { activated: true, energyLeft: 200_000n, freeNetLeft: 600n } })] }),
    );
    expect(plan.steps.map((s) => s.action)).toEqual(['token']);
    const partly = planSweep(
      usdt({ sources: [user(0, 500n * USDT, { nativeBalance: 5n * TRX, tron: { activated: true, energyLeft: 0n, freeNetLeft: 600n } })] }),
    );
    expect(partly.steps.map((s) => [s.action, s.amount])).toEqual([
      ['topup', (130_285n * 100n * 120n + 99n) / 100n - 5n * TRX],
      ['token', 500n * USDT],
    ]);
    // Topping up an existing account costs the funder only its bandwidth.
    expect(partly.steps[0]!.fee).toBe(280n * 1_000n);
  });

  it('stake too small for the transfer: burns instead; stake is shared out address by address', () => {
    const one = sunForEnergy(130_285n, FEES.energyPerTrx);
    const plan = planSweep(usdt({ sources: [user(0, 600n * USDT), user(1, 500n * USDT)] }, { delegatableSun: one + TRX }));
    expect(plan.steps.map((s) => [s.from[0]!.address, s.action])).toEqual([
      ['THOT', 'topup'],
      ['THOT', 'delegate'],
      ['TU0', 'token'],
      ['THOT', 'undelegate'],
      ['THOT', 'topup'],
      ['TU1', 'token'],
    ]);
    expect(plan.steps[4]!.amount).toBeGreaterThan(13n * TRX);
  });

  it('waits when the fees exceed the ratio, when the funder is short, and below the threshold', () => {
    // 14.1 TRX of fees = 1.69 USDT: more than 2% of 50 USDT.
    expect(planSweep(usdt({ sources: [user(0, 50n * USDT)] })).waiting).toMatchObject([{ address: 'TU0', reason: 'fee_ratio' }]);
    expect(planSweep(usdt({ sources: [user(0, 500n * USDT)], funderNativeBalance: 10n * TRX })).waiting).toMatchObject([
      { address: 'TU0', reason: 'funder_short' },
    ]);
    expect(planSweep(usdt({ sources: [user(0, 5n * USDT)] })).waiting).toMatchObject([{ address: 'TU0', reason: 'below_threshold' }]);
    // Delegated energy makes the small one worth it.
    expect(planSweep(usdt({ sources: [user(0, 50n * USDT)] }, { delegatableSun: 3_000n * TRX })).steps).toHaveLength(4);
  });

  it('fills HOT to its target, splitting the crossing address, the rest to COLD; held funds never to HOT', () => {
    const plan = planSweep(
      usdt({
        wallets: { hot, cold, tokensCollector: null },
        policy: { collectThreshold: 10n * USDT, hotTarget: 300n * USDT, maxFeeRatio: pct(2n) },
        hotBalance: 100n * USDT,
        sources: [user(0, 500n * USDT), user(1, 400n * USDT, { held: 400n * USDT })],
      }),
    );
    expect(plan.steps.filter((s) => s.action === 'token').map((s) => [s.from[0]!.address, s.kind, s.to.address, s.amount])).toEqual([
      ['TU0', 'sweep', 'THOT', 200n * USDT],
      ['TU0', 'cold_forward', 'TCOLD', 300n * USDT],
      ['TU1', 'cold_forward', 'TCOLD', 400n * USDT],
    ]);
    // Two transfers from one address: twice the energy, the second after the first.
    const tokens = plan.steps.filter((s) => s.action === 'token');
    expect(tokens[1]!.after).toContain(tokens[0]!.id);
    expect(plan.toHot).toBe(200n * USDT);
    expect(plan.toRest).toBe(700n * USDT);
  });

  it('the funder is the TOKENS_COLLECTOR when there is one', () => {
    const tc = { addressId: 't', address: 'TTC' };
    const plan = planSweep(usdt({ wallets: { hot, cold: null, tokensCollector: tc }, sources: [user(0, 500n * USDT)] }));
    expect(plan.steps[0]!.fromRole).toBe('TOKENS_COLLECTOR');
    expect(plan.steps[0]!.from).toEqual([tc]);
  });
});

describe('planSweep, Tron native TRX', () => {
  it('sends the balance less the bandwidth it burns; free bandwidth makes it whole', () => {
    const trx = (tron: SourceAddress['tron']) =>
      planSweep(
        usdt({
          coinId: 'tron:TRX',
          isToken: false,
          nativeToCoin: { numerator: 1n, denominator: 1n },
          policy: { collectThreshold: 10n * TRX, hotTarget: 1_000_000n * TRX, maxFeeRatio: pct(2n) },
          sources: [user(0, 50n * TRX, { nativeBalance: 50n * TRX, tron })],
        }),
      );
    expect(trx({ activated: true, energyLeft: 0n, freeNetLeft: 600n }).steps.map((s) => [s.action, s.amount])).toEqual([['native', 50n * TRX]]);
    expect(trx({ activated: true, energyLeft: 0n, freeNetLeft: 0n }).steps.map((s) => [s.action, s.amount])).toEqual([['native', 50n * TRX - 280_000n]]);
  });
});
