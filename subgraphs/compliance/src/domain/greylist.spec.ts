import { GreyListIndex, greyListPermission } from './greylist';
import { resolveStep } from './alerts';
import { fiatCents, formatCents } from './fiat';

const A = '0x1111111111111111111111111111111111111111';

describe('grey list', () => {
  const idx = new GreyListIndex([
    { id: '1', merchantId: null, networkId: 'ethereum', address: A, action: 'BLOCK', reason: 'r', source: 'operator' },
    { id: '2', merchantId: 'm1', networkId: 'ethereum', address: A.toUpperCase().replace('0X', '0x'), action: 'REVIEW', reason: 'r', source: 'merchant' },
  ]);
  it('a merchant sees global entries and its own, never another merchant’s', () => {
    expect(idx.matching('ethereum', A, 'm1').map((e) => e.id)).toEqual(['1', '2']);
    expect(idx.matching('ethereum', A, 'm2').map((e) => e.id)).toEqual(['1']);
    expect(idx.matching('bsc', A, 'm1')).toEqual([]);
  });
  it('permissions: operator manages global entries, merchants only their own', () => {
    expect(greyListPermission({ kind: 'operator' }, null)).toBeNull();
    expect(greyListPermission({ kind: 'operator' }, 'm1')).not.toBeNull();
    expect(greyListPermission({ kind: 'merchant', merchantId: 'm1' }, 'm1')).toBeNull();
    expect(greyListPermission({ kind: 'merchant', merchantId: 'm1' }, null)).toMatch(/only the operator/);
    expect(greyListPermission({ kind: 'merchant', merchantId: 'm2' }, 'm1')).toMatch(/another merchant/);
  });
});

describe('alert resolution', () => {
  it.each([
    ['OPEN', 'ALLOW', { ok: true, next: 'ALLOWED', changed: true }],
    ['OPEN', 'BLOCK', { ok: true, next: 'BLOCKED', changed: true }],
    ['BLOCKED', 'ALLOW', { ok: true, next: 'ALLOWED', changed: true }],
    ['BLOCKED', 'BLOCK', { ok: true, next: 'BLOCKED', changed: false }],
    ['ALLOWED', 'ALLOW', { ok: true, next: 'ALLOWED', changed: false }],
  ] as const)('%s + %s', (from, d, want) => expect(resolveStep(from, d)).toEqual(want));
  it('refuses REVIEW and re-blocking released funds', () => {
    expect(resolveStep('OPEN', 'REVIEW')).toMatchObject({ ok: false, code: 'BAD_USER_INPUT' });
    expect(resolveStep('ALLOWED', 'BLOCK')).toMatchObject({ ok: false, code: 'CONFLICT' });
  });
});

describe('fiat', () => {
  it('computes cents without floats', () => {
    expect(fiatCents(10n ** 18n, 18, '3000')).toBe(300_000n);
    expect(fiatCents(12_345_678n, 6, '1')).toBe(1234n);
    expect(fiatCents(1n, 8, '65000.12')).toBe(0n);
    expect(fiatCents(10n ** 8n, 8, '0.12')).toBe(12n);
    expect(formatCents(123_456n)).toBe('1234.56');
    expect(() => fiatCents(1n, 6, '-1')).toThrow();
  });
});
