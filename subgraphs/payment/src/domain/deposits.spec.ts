import { depositKey, matchPayment, normalTxHash, transition, type CandidatePayment } from './deposits';

const plain = { unsolicited: false, belowMinimum: false };

describe('deposit transition', () => {
  it('seen then confirmed posts pending then credit', () => {
    const seen = transition(null, 'seen', plain);
    expect(seen).toEqual({ next: { status: 'SEEN', generation: 0 }, ledger: { kind: 'seen', wasConfirmed: false } });
    const confirmed = transition(seen.next, 'confirmed', plain);
    expect(confirmed).toEqual({ next: { status: 'CONFIRMED', generation: 0 }, ledger: { kind: 'confirmed', wasConfirmed: false } });
  });

  it('repeats and a late seen after the confirmation change nothing', () => {
    expect(transition({ status: 'SEEN', generation: 0 }, 'seen', plain)).toEqual({ next: null, ledger: null });
    expect(transition({ status: 'CONFIRMED', generation: 0 }, 'confirmed', plain)).toEqual({ next: null, ledger: null });
    expect(transition({ status: 'CONFIRMED', generation: 0 }, 'seen', plain)).toEqual({ next: null, ledger: null });
  });

  it('a reorg says whether the deposit had been credited', () => {
    expect(transition({ status: 'SEEN', generation: 0 }, 'reorged', plain).ledger).toEqual({ kind: 'reorged', wasConfirmed: false });
    expect(transition({ status: 'CONFIRMED', generation: 0 }, 'reorged', plain).ledger).toEqual({ kind: 'reorged', wasConfirmed: true });
    expect(transition(null, 'reorged', plain)).toEqual({ next: null, ledger: null });
    expect(transition({ status: 'REORGED', generation: 0 }, 'reorged', plain)).toEqual({ next: null, ledger: null });
  });

  it('a transfer mined again after its reorg gets the next generation', () => {
    expect(transition({ status: 'REORGED', generation: 0 }, 'seen', plain).next).toEqual({ status: 'SEEN', generation: 1 });
    expect(transition({ status: 'REORGED', generation: 1 }, 'confirmed', plain).next).toEqual({ status: 'CONFIRMED', generation: 2 });
  });

  it('unsolicited transfers are credited only when final, and taken back only if credited', () => {
    const u = { unsolicited: true, belowMinimum: false };
    expect(transition(null, 'seen', u)).toEqual({ next: { status: 'SEEN', generation: 0 }, ledger: null });
    expect(transition({ status: 'SEEN', generation: 0 }, 'confirmed', u).ledger).toEqual({ kind: 'unsolicited_confirmed', wasConfirmed: false });
    expect(transition({ status: 'SEEN', generation: 0 }, 'reorged', u).ledger).toBeNull();
    expect(transition({ status: 'CONFIRMED', generation: 0 }, 'reorged', u).ledger).toEqual({ kind: 'reorged', wasConfirmed: true });
  });

  it('below-minimum transfers are tracked but touch no ledger', () => {
    const small = { unsolicited: false, belowMinimum: true };
    expect(transition(null, 'seen', small)).toEqual({ next: { status: 'SEEN', generation: 0 }, ledger: null });
    expect(transition({ status: 'SEEN', generation: 0 }, 'confirmed', small)).toEqual({ next: { status: 'CONFIRMED', generation: 0 }, ledger: null });
    expect(transition({ status: 'CONFIRMED', generation: 0 }, 'reorged', small).ledger).toBeNull();
  });

  it('held deposits are left to compliance', () => {
    expect(transition({ status: 'HELD', generation: 0 }, 'confirmed', plain)).toEqual({ next: null, ledger: null });
  });
});

describe('matchPayment', () => {
  const p = (
    id: string,
    status: CandidatePayment['status'],
    minutesAgo: number,
    customerId: string | null = null,
    coinId = 'dev-evm:ETH',
  ): CandidatePayment => ({
    id,
    status,
    coinId,
    customerId,
    createdAt: new Date(Date.now() - minutesAgo * 60_000),
  });

  it('takes the newest open payment of the coin', () => {
    expect(matchPayment([p('a', 'PENDING', 10, 'c'), p('b', 'PENDING', 5, 'c'), p('c', 'PAID', 1, 'c')], 'dev-evm:ETH')?.id).toBe('b');
  });

  it('keeps a dedicated address bound to its payment after expiry or payment', () => {
    expect(matchPayment([p('a', 'EXPIRED', 10)], 'dev-evm:ETH')?.id).toBe('a');
    expect(matchPayment([p('a', 'PAID', 10)], 'dev-evm:ETH')?.id).toBe('a');
  });

  it('a reused customer address with nothing open, a cancelled payment or another coin is unsolicited', () => {
    expect(matchPayment([p('a', 'PAID', 10, 'cust')], 'dev-evm:ETH')).toBeNull();
    expect(matchPayment([p('a', 'CANCELLED', 10)], 'dev-evm:ETH')).toBeNull();
    expect(matchPayment([p('a', 'PENDING', 10)], 'dev-evm:USDT')).toBeNull();
    expect(matchPayment([], 'dev-evm:ETH')).toBeNull();
  });
});

describe('keys', () => {
  it('deposit keys carry the generation only after a re-inclusion', () => {
    expect(depositKey('dev-evm', '0xab', 3, 0)).toBe('dev-evm:0xab:3');
    expect(depositKey('dev-evm', '0xab', 3, 2)).toBe('dev-evm:0xab:3#2');
    expect(normalTxHash('0xABcd')).toBe('0xabcd');
  });
});
