import { ReplayGuard } from './replay-guard';

describe('ReplayGuard', () => {
  const t0 = 1_800_000_000_000;

  it('admits a nonce once and refuses it again within the window', () => {
    const guard = new ReplayGuard(60);
    expect(guard.admit('a', t0)).toBe('fresh');
    expect(guard.admit('a', t0 + 1)).toBe('replayed');
    expect(guard.admit('b', t0 + 1)).toBe('fresh');
  });

  it('remembers a nonce for as long as its signature could still pass the age check', () => {
    // Signed 5 s ahead of our clock (the most allowed), whole seconds: valid until arrival + 66 s.
    const guard = new ReplayGuard(60);
    guard.admit('a', t0);
    expect(guard.admit('a', t0 + 65_999)).toBe('replayed');
    expect(guard.admit('b', t0 + 66_000)).toBe('fresh');
    expect(guard.size).toBe(1);
  });

  it('forgets expired nonces as time passes, so its size follows the traffic of one window', () => {
    const guard = new ReplayGuard(1);
    for (let i = 0; i < 1000; i++) guard.admit(`n${i}`, t0 + i * 10);
    expect(guard.size).toBeLessThanOrEqual(701);
    guard.admit('late', t0 + 100_000);
    expect(guard.size).toBe(1);
  });

  it('refuses a new nonce when full rather than forgetting a live one', () => {
    const guard = new ReplayGuard(60, 2);
    expect(guard.admit('a', t0)).toBe('fresh');
    expect(guard.admit('b', t0)).toBe('fresh');
    expect(guard.admit('c', t0)).toBe('full');
    expect(guard.admit('a', t0)).toBe('replayed');
    expect(guard.admit('c', t0 + 66_000)).toBe('fresh');
  });

  it('never forgets early when the clock steps back', () => {
    const guard = new ReplayGuard(60);
    guard.admit('a', t0);
    guard.admit('b', t0 - 30_000);
    expect(guard.admit('a', t0 + 65_000)).toBe('replayed');
    expect(guard.admit('b', t0 + 30_000)).toBe('replayed');
  });
});
