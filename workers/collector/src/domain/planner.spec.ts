import { prng } from '@cpg/devkit/testing/prng';
import { consolidationFee, marginalInputFee } from '@cpg/chains/bitcoin/fees';
import { MAX_INPUTS, type PlanInput, type SourceAddress, feeInCoin, planSweep, stepId, withinRatio } from './planner';

const PLAN = '11111111-2222-4333-8444-555555555555';
const hot = { addressId: 'h', address: '0xHOT' };
const cold = { addressId: 'c', address: '0xCOLD' };
const collector = { addressId: 't', address: '0xTC' };
const GWEI = 10n ** 9n;
const USDT = 10n ** 6n;
// 1 ETH = 3000 USDT: 1 wei = 3000e6 / 1e18 USDT base units.
const ETH_TO_USDT = { numerator: 3000n * USDT, denominator: 10n ** 18n };
const pct = (n: bigint) => ({ numerator: n, denominator: 100n });

const user = (i: number, balance: bigint, extra: Partial<SourceAddress> = {}): SourceAddress => ({
  addressId: `u${i}`,
  address: `0xU${String(i).padStart(2, '0')}`,
  balance,
  ...extra,
});

function token(over: Partial<PlanInput> = {}): PlanInput {
  return {
    planId: PLAN,
    family: 'EVM',
    coinId: 'dev-evm:USDT',
    nativeCoinId: 'dev-evm:ETH',
    isToken: true,
    policy: { collectThreshold: 5n * USDT, hotTarget: 100n * USDT, maxFeeRatio: pct(2n) },
    wallets: { hot, cold, tokensCollector: collector },
    hotBalance: 0n,
    funderNativeBalance: 10n ** 18n,
    sources: [],
    nativeToCoin: ETH_TO_USDT,
    evm: { maxFeePerGas: 2n * GWEI, tokenTransferGas: 65_000n, nativeTransferGas: 21_000n, topUpMarginPercent: 20n },
    ...over,
  };
}

function native(over: Partial<PlanInput> = {}): PlanInput {
  return token({
    coinId: 'dev-evm:ETH',
    isToken: false,
    nativeToCoin: { numerator: 1n, denominator: 1n },
    policy: { collectThreshold: 10n ** 16n, hotTarget: 10n ** 18n, maxFeeRatio: pct(1n) },
    ...over,
  });
}

function ltc(over: Partial<PlanInput> = {}): PlanInput {
  return {
    planId: PLAN,
    family: 'BITCOIN',
    coinId: 'dev-ltc:LTC',
    nativeCoinId: 'dev-ltc:LTC',
    isToken: false,
    policy: { collectThreshold: 100_000n, hotTarget: 10n ** 12n, maxFeeRatio: pct(2n) },
    wallets: { hot, cold: null, tokensCollector: null },
    hotBalance: 0n,
    sources: [],
    nativeToCoin: { numerator: 1n, denominator: 1n },
    bitcoin: { satPerKvB: 10_000n, dustThreshold: 2940n },
    ...over,
  };
}

const utxoSource = (i: number, values: bigint[]): SourceAddress =>
  user(
    i,
    values.reduce((a, v) => a + v, 0n),
    { utxos: values.map((value, vout) => ({ txid: `t${String(i).padStart(3, '0')}`, vout, value })) },
  );

describe('stepId', () => {
  it('is a stable UUID per plan and position', () => {
    expect(stepId(PLAN, 0)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stepId(PLAN, 0)).toBe(stepId(PLAN, 0));
    expect(new Set([0, 1, 2, 3].map((i) => stepId(PLAN, i))).size).toBe(4);
    expect(stepId(PLAN, 0)).not.toBe(stepId('other', 0));
  });
});

describe('fee arithmetic', () => {
  it('values fees in the coin rounded up and compares with the ratio exactly', () => {
    expect(feeInCoin(1n, ETH_TO_USDT)).toBe(1n);
    expect(feeInCoin(10n ** 18n, ETH_TO_USDT)).toBe(3000n * USDT);
    expect(withinRatio(2n, 100n, pct(2n))).toBe(true);
    expect(withinRatio(3n, 100n, pct(2n))).toBe(false);
    expect(withinRatio(0n, 0n, pct(2n))).toBe(false);
  });
});

describe('EVM token plans', () => {
  it('tops up, sweeps to HOT until the target, splits the crossing address and forwards the rest to COLD', () => {
    const plan = planSweep(token({ sources: [user(1, 60n * USDT), user(2, 70n * USDT), user(3, 30n * USDT)] }));
    const summary = plan.steps.map((s) => [s.kind, s.action, s.from[0]!.address, s.to.address, s.amount]);
    const topUp = ((65_000n * 2n * GWEI * 120n) / 100n) as bigint;
    const topUp2 = ((2n * 65_000n * 2n * GWEI * 120n) / 100n) as bigint;
    expect(summary).toEqual([
      ['gas_topup', 'topup', '0xTC', '0xU02', topUp],
      ['sweep', 'token', '0xU02', '0xHOT', 70n * USDT],
      ['gas_topup', 'topup', '0xTC', '0xU01', topUp2],
      ['sweep', 'token', '0xU01', '0xHOT', 30n * USDT],
      ['cold_forward', 'token', '0xU01', '0xCOLD', 30n * USDT],
      ['gas_topup', 'topup', '0xTC', '0xU03', topUp],
      ['cold_forward', 'token', '0xU03', '0xCOLD', 30n * USDT],
    ]);
    expect(plan.toHot).toBe(100n * USDT);
    expect(plan.toRest).toBe(60n * USDT);
    // Each transfer waits for its address's top-up; the second transfer also for the first.
    expect(plan.steps[1]!.after).toEqual([plan.steps[0]!.id]);
    expect(plan.steps[4]!.after).toEqual([plan.steps[2]!.id, plan.steps[3]!.id]);
    expect(plan.steps.map((s) => s.seq)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(plan.waiting).toEqual([]);
  });

  it('does not top up what the address already holds, and only the missing part otherwise', () => {
    const need = (65_000n * 2n * GWEI * 120n) / 100n;
    const full = planSweep(token({ sources: [user(1, 50n * USDT, { nativeBalance: need })] }));
    expect(full.steps.map((s) => s.action)).toEqual(['token']);
    const part = planSweep(token({ sources: [user(1, 50n * USDT, { nativeBalance: need - 1000n })] }));
    expect(part.steps.map((s) => [s.action, s.amount])).toEqual([
      ['topup', 1000n],
      ['token', 50n * USDT],
    ]);
  });

  it('leaves addresses below the threshold and sweeps whose fees exceed the ratio waiting', () => {
    // Fees: (65000 + 21000) gas x 2 gwei = 0.000172 ETH = 0.516 USDT; 2% of 20 USDT = 0.4 USDT.
    const plan = planSweep(token({ sources: [user(1, 4n * USDT), user(2, 20n * USDT), user(3, 26n * USDT)] }));
    // With the figures behind each decision: the fee in ETH and valued in USDT against what would move.
    expect(plan.waiting).toEqual([
      { address: '0xU02', reason: 'fee_ratio', amount: 20n * USDT, fee: 172_000n * GWEI, feeInCoin: 516_000n, moved: 20n * USDT },
      { address: '0xU01', reason: 'below_threshold', amount: 4n * USDT },
    ]);
    expect(plan.steps.filter((s) => s.action === 'token').map((s) => s.from[0]!.address)).toEqual(['0xU03']);
  });

  it('sends one whole transfer to HOT when the split would cost more than the ratio allows', () => {
    // 30 USDT: a split costs 2x65000+21000 gas = 0.906 USDT > 0.6 (2%); one transfer costs 0.516.
    const plan = planSweep(token({ sources: [user(1, 30n * USDT)], policy: { collectThreshold: USDT, hotTarget: 10n * USDT, maxFeeRatio: pct(2n) } }));
    expect(plan.steps.filter((s) => s.action === 'token').map((s) => [s.to.address, s.amount])).toEqual([['0xHOT', 30n * USDT]]);
  });

  it('fills nothing to HOT at its target; the rest goes to TOKENS_COLLECTOR without a cold wallet, to HOT without either', () => {
    const atTarget = planSweep(token({ hotBalance: 100n * USDT, wallets: { hot, cold: null, tokensCollector: collector }, sources: [user(1, 50n * USDT)] }));
    expect(atTarget.steps.filter((s) => s.action === 'token').map((s) => [s.kind, s.to.address])).toEqual([['cold_forward', '0xTC']]);
    expect(atTarget.steps[0]!.from[0]!.address).toBe('0xTC');
    const hotOnly = planSweep(token({ hotBalance: 100n * USDT, wallets: { hot, cold: null, tokensCollector: null }, sources: [user(1, 50n * USDT)] }));
    expect(hotOnly.steps.map((s) => [s.kind, s.from[0]!.address, s.to.address])).toEqual([
      ['gas_topup', '0xHOT', '0xU01'],
      ['sweep', '0xU01', '0xHOT'],
    ]);
  });

  it('waits when the funder cannot pay the top-up and its fee', () => {
    const plan = planSweep(token({ funderNativeBalance: 100_000n * GWEI, sources: [user(1, 50n * USDT), user(2, 40n * USDT)] }));
    // 100000 gwei pays exactly one top-up (156000 gwei + 42000 fee) ... not even one.
    expect(plan.steps).toEqual([]);
    expect(plan.waiting.map((w) => w.reason)).toEqual(['funder_short', 'funder_short']);
    const one = planSweep(token({ funderNativeBalance: 200_000n * GWEI, sources: [user(1, 50n * USDT), user(2, 40n * USDT)] }));
    expect(one.steps.map((s) => s.action)).toEqual(['topup', 'token']);
    expect(one.waiting).toMatchObject([{ address: '0xU02', reason: 'funder_short' }]);
  });

  it('sweeps the native leftover back to the funder only when it is worth it', () => {
    // 1 ETH of native on the user address: worth moving (fee 0.000042 ETH).
    const plan = planSweep(token({ sources: [user(1, 50n * USDT, { nativeBalance: 10n ** 18n })] }));
    expect(plan.steps.map((s) => [s.kind, s.action, s.to.address, s.sweepAll])).toEqual([
      ['sweep', 'token', '0xHOT', false],
      ['cold_forward', 'dust', '0xTC', true],
    ]);
    expect(plan.steps[1]!.amount).toBe(10n ** 18n - 65_000n * 2n * GWEI - 21_000n * 2n * GWEI);
    expect(plan.steps[1]!.after).toEqual([plan.steps[0]!.id]);
  });
});

describe('EVM native plans', () => {
  it('sweeps everything less the fee, split at the hot target', () => {
    const fee = 21_000n * 2n * GWEI;
    const plan = planSweep(native({ hotBalance: 5n * 10n ** 17n, sources: [user(1, 2n * 10n ** 18n), user(2, 10n ** 15n)] }));
    expect(plan.steps.map((s) => [s.kind, s.to.address, s.amount, s.sweepAll])).toEqual([
      ['sweep', '0xHOT', 5n * 10n ** 17n, false],
      ['cold_forward', '0xCOLD', 2n * 10n ** 18n - 2n * fee - 5n * 10n ** 17n, true],
    ]);
    expect(plan.waiting).toMatchObject([{ address: '0xU02', reason: 'below_threshold' }]);
  });

  it('waits when the fee exceeds the ratio and calls an address whose fee eats it all dust', () => {
    const policy = { collectThreshold: 1n, hotTarget: 0n, maxFeeRatio: pct(1n) };
    const plan = planSweep(native({ policy, sources: [user(1, 21_000n * 2n * GWEI), user(2, 21_000n * 2n * GWEI * 50n)] }));
    expect(plan.steps).toEqual([]);
    expect(plan.waiting).toEqual([
      { address: '0xU02', reason: 'fee_ratio', amount: 2_100_000n * GWEI, fee: 42_000n * GWEI, feeInCoin: 42_000n * GWEI, moved: 2_058_000n * GWEI },
      { address: '0xU01', reason: 'dust', amount: 42_000n * GWEI, fee: 42_000n * GWEI, feeInCoin: 42_000n * GWEI, moved: 0n },
    ]);
  });
});

describe('Bitcoin-family plans', () => {
  it('consolidates many addresses into one transaction to HOT', () => {
    const sources = Array.from({ length: 20 }, (_, i) => utxoSource(i, [1_000_000n]));
    const plan = planSweep(ltc({ sources }));
    expect(plan.steps).toHaveLength(1);
    const [s] = plan.steps;
    expect(s).toMatchObject({ kind: 'sweep', action: 'consolidate', to: hot, toRole: 'HOT' });
    expect(s!.inputs).toHaveLength(20);
    expect(s!.from).toHaveLength(20);
    expect(s!.fee).toBe(consolidationFee(20, [22], 10_000n));
    expect(s!.amount).toBe(20_000_000n - s!.fee);
  });

  it('one transaction per destination: HOT up to its target, the rest to COLD', () => {
    const sources = [utxoSource(1, [5_000_000n, 3_000_000n]), utxoSource(2, [4_000_000n]), utxoSource(3, [2_000_000n])];
    const plan = planSweep(
      ltc({
        sources,
        hotBalance: 1_000_000n,
        policy: { collectThreshold: 100_000n, hotTarget: 8_000_000n, maxFeeRatio: pct(2n) },
        wallets: { hot, cold, tokensCollector: null },
      }),
    );
    expect(plan.steps.map((s) => [s.kind, s.to.address, s.inputs!.map((u) => u.value)])).toEqual([
      ['sweep', '0xHOT', [5_000_000n, 4_000_000n]],
      ['cold_forward', '0xCOLD', [3_000_000n, 2_000_000n]],
    ]);
    expect(plan.toHot + plan.toRest + plan.fees).toBe(14_000_000n);
    expect(plan.toHot).toBeGreaterThanOrEqual(7_000_000n);
  });

  it('leaves dust outputs alone and waits when the whole consolidation is not worth its fee', () => {
    const perInput = marginalInputFee(10_000n); // 683 sat at 10 sat/vB
    const sources = [utxoSource(1, [1_000_000n, perInput * 10n]), utxoSource(2, [perInput * 60n])];
    const plan = planSweep(ltc({ sources, policy: { collectThreshold: 1n, hotTarget: 10n ** 12n, maxFeeRatio: pct(2n) } }));
    expect(plan.steps[0]!.inputs!.map((u) => u.value)).toEqual([1_000_000n, perInput * 60n]);
    expect(plan.waiting).toEqual([]);
    const tiny = planSweep(ltc({ sources: [utxoSource(1, [perInput * 60n])], policy: { collectThreshold: 1n, hotTarget: 10n ** 12n, maxFeeRatio: pct(2n) } }));
    expect(tiny.steps).toEqual([]);
    expect(tiny.waiting).toMatchObject([{ address: '0xU01', reason: 'fee_ratio' }]);
    const dust = planSweep(ltc({ sources: [utxoSource(1, [perInput * 10n])], policy: { collectThreshold: 1n, hotTarget: 10n ** 12n, maxFeeRatio: pct(2n) } }));
    expect(dust.waiting).toMatchObject([{ address: '0xU01', reason: 'dust' }]);
  });

  it(`spends at most ${MAX_INPUTS} outputs per plan`, () => {
    const sources = Array.from({ length: MAX_INPUTS + 10 }, (_, i) => utxoSource(i, [1_000_000n]));
    expect(planSweep(ltc({ sources })).steps[0]!.inputs).toHaveLength(MAX_INPUTS);
  });
});

describe('compliance holds', () => {
  it('never sweeps an EVM address with held funds into HOT: it goes onwards, or waits without a cold wallet or collector', () => {
    const plan = planSweep(token({ sources: [user(1, 50n * USDT, { held: 10n * USDT }), user(2, 40n * USDT)] }));
    expect(plan.steps.filter((s) => s.action === 'token').map((s) => [s.from[0]!.address, s.to.address, s.amount])).toEqual([
      ['0xU01', '0xCOLD', 50n * USDT],
      ['0xU02', '0xHOT', 40n * USDT],
    ]);
    const hotOnly = planSweep(token({ wallets: { hot, cold: null, tokensCollector: null }, sources: [user(1, 50n * USDT, { held: 1n })] }));
    expect(hotOnly.steps).toEqual([]);
    expect(hotOnly.waiting).toMatchObject([{ address: '0xU01', reason: 'held' }]);
  });

  it('keeps held Bitcoin outputs out of the HOT consolidation', () => {
    const sources = [utxoSource(1, [5_000_000n]), utxoSource(2, [4_000_000n]), utxoSource(3, [3_000_000n])];
    sources[1]!.held = 1n;
    const plan = planSweep(ltc({ sources, wallets: { hot, cold, tokensCollector: null } }));
    expect(plan.steps.map((s) => [s.to.address, s.inputs!.map((u) => u.value)])).toEqual([
      ['0xHOT', [5_000_000n, 3_000_000n]],
      ['0xCOLD', [4_000_000n]],
    ]);
    const hotOnly = planSweep(ltc({ sources }));
    expect(hotOnly.steps.map((s) => s.inputs!.map((u) => u.value))).toEqual([[5_000_000n, 3_000_000n]]);
    expect(hotOnly.waiting).toMatchObject([{ address: '0xU02', reason: 'held' }]);
  });
});

describe('validation', () => {
  it('refuses impossible policies and missing estimates', () => {
    expect(() => planSweep(token({ policy: { collectThreshold: 1n, hotTarget: 0n, maxFeeRatio: pct(100n) } }))).toThrow(/maxFeeRatio/);
    expect(() => planSweep(token({ policy: { collectThreshold: 0n, hotTarget: 0n, maxFeeRatio: pct(1n) } }))).toThrow(/collectThreshold/);
    expect(() => planSweep(token({ evm: undefined }))).toThrow(/fee estimate/);
    expect(() => planSweep(ltc({ bitcoin: undefined }))).toThrow(/fee estimate/);
    expect(() => planSweep(ltc({ isToken: true }))).toThrow(/tokens/);
    expect(() => planSweep(token({ sources: [user(1, -1n)] }))).toThrow(/negative/);
  });
});

describe('properties (seeded)', () => {
  it('never spends more than the ratio, never overfills HOT on EVM, conserves what it moves', () => {
    const r = prng(20261126n);
    for (let n = 0; n < 400; n++) {
      const family = r.pick(['token', 'native', 'ltc'] as const);
      const count = 1 + r.int(12);
      const ratio = pct(BigInt(1 + r.int(10)));
      const hotTarget = r.big(300n) * (family === 'token' ? USDT : family === 'native' ? 10n ** 16n : 100_000n);
      const hotBalance = r.big(200n) * (family === 'token' ? USDT : family === 'native' ? 10n ** 16n : 100_000n);
      const wallets = { hot, cold: r.int(2) ? cold : null, tokensCollector: r.int(2) ? collector : null };
      let input: PlanInput;
      if (family === 'ltc') {
        const sources = Array.from({ length: count }, (_, i) =>
          utxoSource(
            i,
            Array.from({ length: 1 + r.int(3) }, () => 1000n + r.big(5_000_000n)),
          ),
        );
        input = ltc({ sources, wallets, hotBalance, policy: { collectThreshold: 1n + r.big(1_000_000n), hotTarget, maxFeeRatio: ratio } });
      } else {
        const unit = family === 'token' ? USDT : 10n ** 16n;
        const sources = Array.from({ length: count }, (_, i) =>
          user(i, r.big(100n) * unit + r.big(unit), { nativeBalance: r.int(3) ? 0n : r.big(10n ** 15n) }),
        );
        const base = family === 'token' ? token() : native();
        input = { ...base, sources, wallets, hotBalance, policy: { collectThreshold: 1n + r.big(20n * unit), hotTarget, maxFeeRatio: ratio } };
      }
      const plan = planSweep(input);
      const ids = new Set(plan.steps.map((s) => s.id));
      expect(ids.size).toBe(plan.steps.length);
      for (const s of plan.steps) for (const a of s.after) expect(ids.has(a)).toBe(true);
      // Per source: fees within ratio of what moved of it; never more moved than it held.
      for (const src of input.sources) {
        const own = plan.steps.filter((s) => s.from.some((f) => f.address === src.address) || (s.action === 'topup' && s.to.address === src.address));
        const moves = own.filter((s) => s.coinId === input.coinId && s.fromRole === 'USER' && s.action !== 'consolidate');
        if (moves.length === 0) continue;
        const moved = moves.reduce((a, s) => a + s.amount, 0n);
        expect(moved).toBeLessThanOrEqual(src.balance);
        const fee = own.filter((s) => s.action !== 'dust').reduce((a, s) => a + s.fee, 0n);
        expect(withinRatio(feeInCoin(fee, input.nativeToCoin), moved, input.policy.maxFeeRatio)).toBe(true);
        expect(src.balance).toBeGreaterThanOrEqual(input.policy.collectThreshold);
      }
      for (const s of plan.steps.filter((x) => x.action === 'consolidate')) {
        const sum = s.inputs!.reduce((a, u) => a + u.value, 0n);
        expect(s.amount + s.fee).toBe(sum);
        expect(withinRatio(s.fee, s.amount, input.policy.maxFeeRatio)).toBe(true);
        expect(s.fee).toBe(consolidationFee(s.inputs!.length, [22], input.bitcoin!.satPerKvB));
      }
      if (family !== 'ltc' && (wallets.cold || wallets.tokensCollector)) {
        const need = hotTarget > hotBalance ? hotTarget - hotBalance : 0n;
        // HOT gets at most the need plus one whole address (when a split was not worth it).
        const hotMoves = plan.steps.filter((s) => s.toRole === 'HOT' && s.coinId === input.coinId && s.fromRole === 'USER');
        const biggest = input.sources.reduce((a, s) => (s.balance > a ? s.balance : a), 0n);
        expect(plan.toHot).toBeLessThanOrEqual(need + biggest);
        if (need === 0n) expect(hotMoves).toEqual([]);
      }
      // Held funds never reach HOT.
      for (const src of input.sources.filter((x) => (x.held ?? 0n) > 0n)) {
        expect(
          plan.steps.some((s) => s.toRole === 'HOT' && s.fromRole === 'USER' && s.from.some((f) => f.address === src.address) && s.action !== 'dust'),
        ).toBe(false);
      }
      // A UTXO is spent at most once.
      const spent = plan.steps.flatMap((s) => (s.inputs ?? []).map((u) => `${u.txid}:${u.vout}`));
      expect(new Set(spent).size).toBe(spent.length);
    }
  });
});
