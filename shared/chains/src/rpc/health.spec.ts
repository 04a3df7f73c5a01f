import { EndpointHealthTracker } from './health';

const policy = { failureThreshold: 3, coolDownMs: 1_000, slowMs: 500 };
const tracker = () => new EndpointHealthTracker(0, 'http://node', policy);

/** One complete request at `now`: begin, then the verdict. */
function request(t: EndpointHealthTracker, now: number, ok: boolean, latencyMs = 10): boolean {
  const trial = t.begin(now);
  if (ok) t.succeed(now + latencyMs, latencyMs, trial);
  else t.fail(now + latencyMs, latencyMs, 'HTTP 500', trial);
  return trial;
}

describe('EndpointHealthTracker', () => {
  it('starts healthy and admitted', () => {
    const t = tracker();
    expect(t.state()).toBe('healthy');
    expect(t.admission(0)).toBe('closed');
    expect(t.snapshot()).toMatchObject({ consecutiveFailures: 0, lastError: null, lastSuccessAt: null, circuitOpenUntil: null, requests: 0 });
  });

  it('is degraded below the threshold and down at it', () => {
    const t = tracker();
    request(t, 0, false);
    expect(t.state()).toBe('degraded');
    request(t, 100, false);
    expect(t.state()).toBe('degraded');
    expect(t.admission(200)).toBe('closed');
    request(t, 200, false);
    expect(t.state()).toBe('down');
    expect(t.snapshot()).toMatchObject({ consecutiveFailures: 3, failures: 3, requests: 3, lastError: 'HTTP 500', circuitOpenUntil: 1_210 });
  });

  it('refuses traffic during the cool-down, then admits exactly one trial', () => {
    const t = tracker();
    for (const at of [0, 1, 2]) request(t, at, false);
    const openUntil = t.snapshot().circuitOpenUntil!;
    expect(t.admission(openUntil - 1)).toBe('refused');
    expect(t.rank(openUntil - 1)).toBe(Number.POSITIVE_INFINITY);
    expect(t.admission(openUntil)).toBe('trial');
    expect(t.begin(openUntil)).toBe(true);
    // While the trial runs nobody else gets through.
    expect(t.admission(openUntil + 5_000)).toBe('refused');
    t.succeed(openUntil + 20, 20, true);
    expect(t.state()).toBe('healthy');
    expect(t.admission(openUntil + 21)).toBe('closed');
    expect(t.snapshot()).toMatchObject({ consecutiveFailures: 0, circuitOpenUntil: null, lastSuccessAt: openUntil + 20 });
  });

  it('re-opens for a full cool-down when the trial fails', () => {
    const t = tracker();
    for (const at of [0, 1, 2]) request(t, at, false);
    const trialAt = t.snapshot().circuitOpenUntil! + 50;
    expect(request(t, trialAt, false)).toBe(true);
    expect(t.state()).toBe('down');
    expect(t.snapshot().circuitOpenUntil).toBe(trialAt + 10 + 1_000);
    expect(t.admission(trialAt + 500)).toBe('refused');
  });

  it('frees the trial when the request is cancelled', () => {
    const t = tracker();
    for (const at of [0, 1, 2]) request(t, at, false);
    const at = t.snapshot().circuitOpenUntil!;
    const trial = t.begin(at);
    t.cancel(trial);
    expect(t.admission(at)).toBe('trial');
    expect(t.state()).toBe('down');
    expect(t.snapshot().inFlight).toBe(0);
  });

  it('a success resets the failure streak', () => {
    const t = tracker();
    request(t, 0, false);
    request(t, 1, false);
    request(t, 2, true);
    request(t, 3, false);
    request(t, 4, false);
    expect(t.state()).toBe('degraded');
    expect(t.snapshot().consecutiveFailures).toBe(2);
  });

  it('marks slow answers degraded, and fast ones healthy again', () => {
    const t = tracker();
    request(t, 0, true, 800);
    expect(t.state()).toBe('degraded');
    expect(t.snapshot().lastLatencyMs).toBe(800);
    request(t, 1_000, true, 100);
    expect(t.state()).toBe('healthy');
  });

  it('ranks a due trial first, healthy next, a recently degraded endpoint last until it has rested', () => {
    const healthy = tracker();
    const degraded = tracker();
    request(degraded, 0, false);
    const down = tracker();
    for (const at of [0, 1, 2]) request(down, at, false);
    expect(healthy.rank(100)).toBe(1);
    expect(degraded.rank(100)).toBe(2);
    expect(degraded.rank(1_000)).toBe(1);
    expect(down.rank(100)).toBe(Number.POSITIVE_INFINITY);
    expect(down.rank(2_000)).toBe(0);
  });

  it('counts requests in flight', () => {
    const t = tracker();
    const a = t.begin(0);
    t.begin(0);
    expect(t.snapshot().inFlight).toBe(2);
    t.succeed(1, 1, a);
    expect(t.snapshot().inFlight).toBe(1);
  });
});
