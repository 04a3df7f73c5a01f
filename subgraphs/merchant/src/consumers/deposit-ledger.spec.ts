import { type DepositLedgerEffect, eventSchemas } from '@cpg/core/bus/messages';
import { depositEffectPosting } from '../ledger/deposit-postings';

const M = '11111111-1111-4111-8111-111111111111';
const parse = (data: unknown) => eventSchemas['payment.deposit_ledger'].parse(data) as DepositLedgerEffect;
const deposit = { network: 'dev-evm', txHash: '0xABC', index: 3, coinId: 'dev-evm:ETH', generation: 0 };
const told = (effect: Record<string, unknown>) => parse({ merchantId: M, paymentId: null, amount: '5', deposit, ...effect });
const legacy = (kind: string, depositKey: string, wasConfirmed = false) =>
  parse({ merchantId: M, paymentId: null, coinId: 'dev-ltc:LTC', amount: '5', kind, depositKey, wasConfirmed });

describe('payment.deposit_ledger as the ledger reads it', () => {
  it('reads network, hash, index and the generation of a re-inclusion from an older producer', () => {
    expect(legacy('seen', 'dev-evm:0xabc:3').deposit).toEqual({ network: 'dev-evm', txHash: '0xabc', index: 3, coinId: 'dev-ltc:LTC', generation: 0 });
    expect(legacy('seen', 'dev-ltc:ff00:1#2').deposit).toEqual({ network: 'dev-ltc', txHash: 'ff00', index: 1, coinId: 'dev-ltc:LTC', generation: 2 });
  });

  it('refuses anything else as a malformed message', () => {
    for (const bad of ['', 'dev-evm:0xabc', 'dev-evm:0xabc:-1', 'Dev:0x:1', 'dev-evm:0xabc:1#x']) expect(() => legacy('seen', bad)).toThrow(/bad deposit key/);
  });

  it('keys a DepositRef exactly as the old string key of the same deposit, so no deposit is posted twice', () => {
    // What the ledger built from `dev-evm:0xABC:3#2` before (hash lower-cased, generation after the index).
    const fromOld = depositEffectPosting(legacy('seen', 'dev-evm:0xABC:3#2'));
    const fromRef = depositEffectPosting(told({ effect: 'seen', deposit: { ...deposit, generation: 2 } }));
    expect(fromRef.idempotencyKey).toBe('deposit:dev-evm:0xabc:3#2:seen');
    expect(fromOld.idempotencyKey).toBe(fromRef.idempotencyKey);
    expect(fromRef.reference).toBe('deposit:dev-evm:0xabc:3');
    expect(depositEffectPosting(told({ effect: 'hold', moves: false })).idempotencyKey).toBe('deposit:dev-evm:0xabc:3:compliance_hold');
  });

  it('an older producer’s credit waits in held for the decision; its reversal comes from where that left it', () => {
    expect(depositEffectPosting(legacy('confirmed', 'dev-evm:0xabc:3')).kind).toBe('deposit_pending_screening');
    const reversal = depositEffectPosting(legacy('reorged', 'dev-evm:0xabc:3', true));
    expect(reversal.entries.map((e) => [e.account.kind, e.amount])).toEqual([
      ['held', -5n],
      ['external_chain', 5n],
    ]);
  });
});

describe('each told effect is the posting it names', () => {
  const moves = (e: DepositLedgerEffect) => depositEffectPosting(e).entries.map((x) => [x.account.kind, x.amount]);

  it('seen, credits and reversals', () => {
    expect(moves(told({ effect: 'seen' }))).toEqual([
      ['external_chain', -5n],
      ['pending', 5n],
    ]);
    const credits: [string, boolean, string, string][] = [
      ['deposit_confirmed', true, 'pending', 'available'],
      ['unsolicited', false, 'external_chain', 'available'],
      ['deposit_pending_screening', true, 'pending', 'held'],
      ['deposit_confirmed_held', false, 'external_chain', 'held'],
    ];
    for (const [credit, fromPending, from, to] of credits) {
      const p = depositEffectPosting(told({ effect: 'credit', credit, fromPending }));
      expect([p.kind, p.idempotencyKey, moves(told({ effect: 'credit', credit, fromPending }))]).toEqual([
        credit,
        'deposit:dev-evm:0xabc:3:credit',
        [
          [from, -5n],
          [to, 5n],
        ],
      ]);
    }
    for (const from of ['pending', 'available', 'held']) {
      const p = depositEffectPosting(told({ effect: 'reversal', from }));
      expect([p.kind, p.idempotencyKey, p.entries[0]!.account.kind]).toEqual(['deposit_reversed', 'deposit:dev-evm:0xabc:3:reversal', from]);
    }
  });

  it('decisions: a move toward their side, or a marker that moves nothing', () => {
    expect(moves(told({ effect: 'hold', moves: true }))).toEqual([
      ['available', -5n],
      ['held', 5n],
    ]);
    expect(depositEffectPosting(told({ effect: 'block', moves: true })).idempotencyKey).toBe('deposit:dev-evm:0xabc:3:compliance_block');
    expect(moves(told({ effect: 'clear', moves: true }))).toEqual([
      ['held', -5n],
      ['available', 5n],
    ]);
    expect(depositEffectPosting(told({ effect: 'release', moves: true })).kind).toBe('compliance_release');
    const marker = depositEffectPosting(told({ effect: 'clear', moves: false }));
    expect([marker.kind, marker.entries.reduce((s, e) => s + e.amount, 0n)]).toEqual(['compliance_clear_marker', 0n]);
  });
});
