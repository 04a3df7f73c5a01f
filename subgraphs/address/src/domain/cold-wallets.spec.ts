import { coldWalletUsable, effectiveColdStatus, initialColdStatus, operatorDecision } from './cold-wallets';

const NOW = new Date('2026-01-01T00:00:00Z');

describe('cold wallets', () => {
  it('screening decides how a wallet starts: BLOCK never stored, REVIEW to the operator, ALLOW cools off', () => {
    expect(initialColdStatus('BLOCK', NOW, 24)).toBeNull();
    expect(initialColdStatus('REVIEW', NOW, 24)).toEqual({ status: 'PENDING_REVIEW', usableFrom: null });
    expect(initialColdStatus('ALLOW', NOW, 24)).toEqual({ status: 'COOLING_OFF', usableFrom: new Date('2026-01-02T00:00:00Z') });
    expect(initialColdStatus('ALLOW', NOW, 0.5)!.usableFrom).toEqual(new Date('2026-01-01T00:30:00Z'));
  });

  it('a cooling-off wallet becomes usable when its period has passed, never before', () => {
    const from = new Date(NOW.getTime() + 1000);
    expect(effectiveColdStatus('COOLING_OFF', from, NOW)).toBe('COOLING_OFF');
    expect(coldWalletUsable('COOLING_OFF', from, NOW)).toBe(false);
    expect(coldWalletUsable('COOLING_OFF', from, new Date(NOW.getTime() + 1000))).toBe(true);
    expect(coldWalletUsable('PENDING_REVIEW', null, new Date(NOW.getTime() + 1e12))).toBe(false);
    expect(coldWalletUsable('REJECTED', from, new Date(NOW.getTime() + 1e12))).toBe(false);
    expect(coldWalletUsable('ACTIVE', null, NOW)).toBe(true);
  });

  it('the operator approves (at once) or rejects; a rejected wallet stays rejected; repeats change nothing', () => {
    expect(operatorDecision('PENDING_REVIEW', 'approve')).toEqual({ ok: true, status: 'ACTIVE', changed: true });
    expect(operatorDecision('COOLING_OFF', 'approve')).toEqual({ ok: true, status: 'ACTIVE', changed: true });
    expect(operatorDecision('ACTIVE', 'approve')).toEqual({ ok: true, status: 'ACTIVE', changed: false });
    expect(operatorDecision('REJECTED', 'approve')).toMatchObject({ ok: false });
    expect(operatorDecision('ACTIVE', 'reject')).toEqual({ ok: true, status: 'REJECTED', changed: true });
    expect(operatorDecision('REJECTED', 'reject')).toEqual({ ok: true, status: 'REJECTED', changed: false });
  });
});
