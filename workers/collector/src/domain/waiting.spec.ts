import { planSweep, type PlanInput } from './planner';
import { type AwaitingEntry, type DescribeContext, awaitingChanged, describeWaiting, newReasons, percent } from './waiting';

const GWEI = 10n ** 9n;
const USDT = 10n ** 6n;
const ctx: DescribeContext = {
  coin: { id: 'dev-evm:USDT', symbol: 'USDT', decimals: 6 },
  native: { id: 'dev-evm:ETH', symbol: 'ETH', decimals: 18 },
  collectThreshold: 5n * USDT,
  maxFeeRatio: '0.02',
  funder: { role: 'HOT', address: '0xHOT' },
  coldNote: null,
};

function usdtPlan(over: Partial<PlanInput>): ReturnType<typeof planSweep> {
  return planSweep({
    planId: '00000000-0000-4000-8000-000000000001',
    family: 'EVM',
    coinId: 'dev-evm:USDT',
    nativeCoinId: 'dev-evm:ETH',
    isToken: true,
    policy: { collectThreshold: 5n * USDT, hotTarget: 1000n * USDT, maxFeeRatio: { numerator: 2n, denominator: 100n } },
    wallets: { hot: { addressId: 'hot', address: '0xHOT' }, cold: null, tokensCollector: null },
    hotBalance: 0n,
    funderNativeBalance: 10n ** 18n,
    sources: [],
    // 1 ETH = 3000 USDT.
    nativeToCoin: { numerator: 3000n * USDT, denominator: 10n ** 18n },
    evm: { maxFeePerGas: 2n * GWEI, tokenTransferGas: 65_000n, nativeTransferGas: 21_000n, topUpMarginPercent: 20n },
    ...over,
  });
}

const src = (n: number, balance: bigint) => ({ addressId: `id${n}`, address: `0xU0${n}`, balance, nativeBalance: 0n });

describe('why a sweep waits, in words with figures', () => {
  it('a 12.5 USDT deposit under maxFeeRatio 0.02: the fee in ETH, valued in USDT, its share and the cap', () => {
    const plan = usdtPlan({ sources: [src(1, 12_500_000n)] });
    expect(plan.steps).toEqual([]);
    const [w] = plan.waiting;
    // A top-up (21000 gas) and the token transfer (65000 gas) at 2 gwei: 0.000172 ETH = 0.516 USDT, 4.128% of 12.5.
    expect(w).toMatchObject({ reason: 'fee_ratio', amount: 12_500_000n, fee: 172_000n * GWEI, feeInCoin: 516_000n, moved: 12_500_000n });
    expect(describeWaiting(w!, ctx)).toBe(
      "sweeping 12.5 USDT would cost about 0.000172 ETH in fees (about 0.516 USDT), 4.128% of the 12.5 USDT moved, above the policy's maxFeeRatio 0.02 (2%): it waits until more arrives, fees fall or maxFeeRatio is raised",
    );
    // The same deposit under the dev default (0.5) is swept: a top-up then the token transfer.
    const relaxed = usdtPlan({
      sources: [src(1, 12_500_000n)],
      policy: { collectThreshold: 10_000n, hotTarget: 1000n * USDT, maxFeeRatio: { numerator: 1n, denominator: 2n } },
    });
    expect(relaxed.waiting).toEqual([]);
    expect(relaxed.steps.map((s) => s.action)).toEqual(['topup', 'token']);
  });

  it('below the threshold: the amount and the threshold', () => {
    const [w] = usdtPlan({ sources: [src(1, 4n * USDT)] }).waiting;
    expect(describeWaiting(w!, ctx)).toBe(
      '4 USDT is below the collection threshold of 5 USDT (collectThreshold): it is swept once the address holds at least that',
    );
  });

  it('a funder short of gas: what the top-up needs, what the funder has, and where to send it', () => {
    const plan = usdtPlan({ sources: [src(1, 100n * USDT)], funderNativeBalance: 10_000n * GWEI });
    const [w] = plan.waiting;
    // Top-up: 65000 x 2 gwei x 1.2 = 156000 gwei, plus its own 42000 gwei fee.
    expect(w).toMatchObject({ reason: 'funder_short', need: 198_000n * GWEI, have: 10_000n * GWEI });
    expect(describeWaiting(w!, ctx)).toBe(
      'sweeping 100 USDT needs a gas top-up of 0.000198 ETH (with its own fee) from the HOT wallet 0xHOT, which has 0.00001 ETH left for top-ups: send ETH to 0xHOT',
    );
  });

  it('a compliance hold with no cold wallet to forward to, and why the cold wallet is not used', () => {
    const plan = usdtPlan({ sources: [{ ...src(1, 100n * USDT), held: 30n * USDT }] });
    const [w] = plan.waiting;
    expect(w).toMatchObject({ reason: 'held', amount: 100n * USDT, held: 30n * USDT });
    expect(describeWaiting(w!, { ...ctx, coldNote: "the policy's cold wallet 0xC is cooling off until 2030-01-01T00:00:00.000Z" })).toBe(
      'compliance holds 30 USDT of the 100 USDT here (a deposit blocked or under review): held funds never go to the HOT wallet, and there is no usable cold wallet or TOKENS_COLLECTOR to forward them to; ' +
        "the policy's cold wallet 0xC is cooling off until 2030-01-01T00:00:00.000Z",
    );
  });

  it('dust: the amount does not cover moving it', () => {
    const eth = { ...ctx, coin: ctx.native, collectThreshold: 1n };
    expect(describeWaiting({ address: '0xU01', reason: 'dust', amount: 42_000n * GWEI, fee: 42_000n * GWEI, moved: 0n }, eth)).toBe(
      '0.000042 ETH does not cover the fee of moving it (about 0.000042 ETH): left alone as dust',
    );
  });

  it('percentages are rounded up, never understated', () => {
    expect(percent(1n, 3n)).toBe('33.3334');
    expect(percent(2n, 100n)).toBe('2');
    expect(percent(1n, 0n)).toBe('∞');
  });
});

describe('when the waiting list is published and logged', () => {
  const e = (over: Partial<AwaitingEntry> = {}): AwaitingEntry => ({
    addressId: 'a1',
    address: '0xU01',
    amount: 12_500_000n,
    code: 'fee_ratio',
    reason: 'r',
    estimatedFee: 1000n,
    ...over,
  });

  it('publishes when an address, its reason or amount changes, or the fee moves by more than a tenth', () => {
    expect(awaitingChanged([e()], [e()])).toBe(false);
    expect(awaitingChanged([e()], [e({ estimatedFee: 1100n, reason: 'other figures' })])).toBe(false);
    expect(awaitingChanged([e()], [e({ estimatedFee: 1101n })])).toBe(true);
    expect(awaitingChanged([e()], [e({ amount: 13_000_000n })])).toBe(true);
    expect(awaitingChanged([e()], [e({ code: 'below_threshold' })])).toBe(true);
    expect(awaitingChanged([e()], [])).toBe(true);
    expect(awaitingChanged([], [e()])).toBe(true);
  });

  it('logs an address only when its reason is new', () => {
    expect(newReasons([e()], [e({ amount: 1n }), e({ addressId: 'a2' })]).map((x) => x.addressId)).toEqual(['a2']);
    expect(newReasons([e()], [e({ code: 'held' })]).map((x) => x.code)).toEqual(['held']);
  });
});
