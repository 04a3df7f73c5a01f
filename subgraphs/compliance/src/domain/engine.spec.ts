import { DEFAULT_THRESHOLDS, type Facts, type PriorTransfer, assess, levelOf, structuringRule, velocityRule } from './engine';

const NOW = new Date('2026-11-26T12:00:00Z');
const SENDER = '0x1111111111111111111111111111111111111111';
const min = (m: number) => new Date(NOW.getTime() - m * 60_000);

function facts(over: Partial<Facts> = {}): Facts {
  return {
    address: SENDER,
    networkId: 'ethereum',
    direction: 'IN',
    sanction: null,
    grey: [],
    usdCents: 5_000n,
    prior: [],
    exposure: null,
    provider: null,
    providerRequired: true,
    now: NOW,
    ...over,
  };
}

describe('assess', () => {
  it('an ordinary deposit is ALLOW, LOW, and says no rule fired', () => {
    const a = assess(facts());
    expect(a).toMatchObject({ decision: 'ALLOW', level: 'LOW', score: 0, reasons: ['no rule fired'] });
  });

  it('a sanctioned sender is BLOCK 100 SEVERE with the list date', () => {
    const a = assess(facts({ sanction: { assets: ['ETH'], listDate: '2025-11-19' } }));
    expect(a.decision).toBe('BLOCK');
    expect(a.score).toBe(100);
    expect(a.level).toBe('SEVERE');
    expect(a.reasons[0]).toMatch(/OFAC.*ETH.*2025-11-19/);
  });

  it('grey list BLOCK and REVIEW entries decide and say whose entry it is', () => {
    const base = { id: 'g', networkId: 'ethereum', address: SENDER, reason: 'scam reports', source: 'operator' };
    expect(assess(facts({ grey: [{ ...base, merchantId: null, action: 'BLOCK' }] }))).toMatchObject({ decision: 'BLOCK', score: 90 });
    const r = assess(facts({ grey: [{ ...base, merchantId: 'm', action: 'REVIEW', source: 'merchant' }] }));
    expect(r).toMatchObject({ decision: 'REVIEW', score: 60, level: 'HIGH' });
    expect(r.reasons[0]).toMatch(/grey list \(merchant, merchant\): REVIEW - scam reports/);
  });

  it('amount: travel-rule threshold is noted (ALLOW), the review threshold is REVIEW', () => {
    const tr = assess(facts({ usdCents: 100_000n }));
    expect(tr.decision).toBe('ALLOW');
    expect(tr.reasons[0]).toMatch(/travel rule: USD 1000.00/);
    expect(assess(facts({ usdCents: 99_999n })).reasons).toEqual(['no rule fired']);
    expect(assess(facts({ usdCents: 1_000_000n }))).toMatchObject({ decision: 'REVIEW', level: 'MEDIUM' });
  });

  it('no rate: amount rules are not applied and the reasons say so', () => {
    const a = assess(facts({ usdCents: 'unavailable' }));
    expect(a.decision).toBe('ALLOW');
    expect(a.reasons[0]).toMatch(/no USD rate/);
  });

  it('no sender (multi-input): screens what it has and says so', () => {
    const a = assess(facts({ address: null, usdCents: 1_000_000n }));
    expect(a.decision).toBe('REVIEW');
    expect(a.reasons[0]).toMatch(/sender unknown/);
  });

  it('exposure is REVIEW and states its reach', () => {
    const a = assess(facts({ exposure: { source: '0xbad', txHash: '0xabc' } }));
    expect(a.decision).toBe('REVIEW');
    expect(a.reasons[0]).toMatch(/received funds from BLOCKed address 0xbad.*one hop/);
  });

  it('the strictest decision and the highest score win', () => {
    const a = assess(facts({ exposure: { source: '0xbad', txHash: '0xabc' }, sanction: { assets: ['ETH'], listDate: 'd' }, usdCents: 1_000_000n }));
    expect(a.decision).toBe('BLOCK');
    expect(a.score).toBe(100);
    expect(a.reasons).toHaveLength(3);
  });

  it('levels', () => {
    expect([0, 24, 25, 49, 50, 74, 75, 100].map(levelOf)).toEqual(['LOW', 'LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'HIGH', 'SEVERE', 'SEVERE']);
  });
});

describe('provider degradation', () => {
  it('a provider identification is BLOCK', () => {
    const a = assess(facts({ provider: { ok: true, provider: 'chainalysis', identifications: [{ category: 'sanctions', name: 'SANCTIONS: OFAC SDN X' }] } }));
    expect(a.decision).toBe('BLOCK');
    expect(a.reasons[0]).toMatch(/provider chainalysis: identified as sanctions/);
  });
  it('a clean provider answer adds nothing', () => {
    expect(assess(facts({ provider: { ok: true, provider: 'chainalysis', identifications: [] } })).decision).toBe('ALLOW');
  });
  it('a required provider that failed is at least REVIEW, never ALLOW', () => {
    const a = assess(facts({ provider: { ok: false, provider: 'chainalysis', error: 'timed out after 50 ms' } }));
    expect(a.decision).toBe('REVIEW');
    expect(a.reasons[0]).toMatch(/unavailable \(timed out after 50 ms\): required/);
  });
  it('an optional provider that failed degrades to local rules and says so; local rules still decide', () => {
    const a = assess(facts({ providerRequired: false, provider: { ok: false, provider: 'chainalysis', error: 'HTTP 500' } }));
    expect(a.decision).toBe('ALLOW');
    expect(a.reasons[0]).toMatch(/screened with local rules only/);
    const b = assess(
      facts({ providerRequired: false, provider: { ok: false, provider: 'chainalysis', error: 'HTTP 500' }, sanction: { assets: ['ETH'], listDate: 'd' } }),
    );
    expect(b.decision).toBe('BLOCK');
  });
});

describe('velocity', () => {
  const t = DEFAULT_THRESHOLDS; // 10 within 60 min
  const prior = (mins: number[]): PriorTransfer[] => mins.map((m) => ({ at: min(m), usdCents: 5_000n }));
  it('fires on the 10th transfer from one sender within the hour', () => {
    const hit = velocityRule(facts({ prior: prior([1, 5, 10, 15, 20, 25, 30, 40, 50]) }), t);
    expect(hit).toMatchObject({ decision: 'REVIEW', rule: 'velocity' });
    expect(hit!.reason).toMatch(/10 transfers/);
  });
  it('does not fire on 9, nor on 10 spread over more than the window', () => {
    expect(velocityRule(facts({ prior: prior([1, 5, 10, 15, 20, 25, 30, 40]) }), t)).toBeNull();
    expect(velocityRule(facts({ prior: prior([1, 70, 140, 210, 280, 350, 420, 490, 560]) }), t)).toBeNull();
  });
  it('does not apply to withdrawals or an unknown sender', () => {
    expect(velocityRule(facts({ direction: 'OUT', prior: prior([1, 2, 3, 4]) }), t)).toBeNull();
    expect(velocityRule(facts({ address: null, prior: prior([1, 2, 3, 4]) }), t)).toBeNull();
  });
});

describe('structuring', () => {
  const t = DEFAULT_THRESHOLDS; // threshold USD 1000, band 10 %: [900, 1000)
  const at = (m: number, cents: bigint): PriorTransfer => ({ at: min(m), usdCents: cents });
  it('fires on three amounts just under the threshold within 24 h', () => {
    const hit = structuringRule(facts({ usdCents: 99_000n, prior: [at(60, 95_000n), at(600, 98_500n)] }), t);
    expect(hit).toMatchObject({ decision: 'REVIEW', rule: 'structuring' });
    expect(assess(facts({ usdCents: 99_000n, prior: [at(60, 95_000n), at(600, 98_500n)] })).decision).toBe('REVIEW');
  });
  it('does not fire on ordinary amounts, on amounts over the threshold, or outside 24 h', () => {
    expect(structuringRule(facts({ usdCents: 50_000n, prior: [at(60, 50_000n), at(600, 50_000n)] }), t)).toBeNull();
    expect(structuringRule(facts({ usdCents: 99_000n, prior: [at(60, 120_000n), at(600, 150_000n)] }), t)).toBeNull();
    expect(structuringRule(facts({ usdCents: 99_000n, prior: [at(60, 95_000n), at(25 * 60, 98_500n)] }), t)).toBeNull();
    expect(structuringRule(facts({ usdCents: 99_000n, prior: [at(60, 95_000n)] }), t)).toBeNull();
  });
  it('does not fire when this transfer itself is not just under', () => {
    expect(structuringRule(facts({ usdCents: 20_000n, prior: [at(60, 95_000n), at(600, 98_500n)] }), t)).toBeNull();
  });
});
