import { STATUS_STALE_MS, reportedAt, statusView } from './status';

describe('network status view', () => {
  const now = new Date('2026-11-26T02:00:00Z');
  const row = { available: true, scannedHeight: 100, tipHeight: 103, lagBlocks: 3, reportedAt: new Date(now.getTime() - 10_000) };
  const unknown = { available: false, scannedHeight: null, tipHeight: null, lagBlocks: null, updatedAt: null };

  it('shows a recent report as it is', () => {
    expect(statusView(row, now)).toEqual({ available: true, scannedHeight: 100, tipHeight: 103, lagBlocks: 3, updatedAt: row.reportedAt });
  });

  it('knows nothing before the first report or after two quiet minutes', () => {
    expect(statusView(undefined, now)).toEqual(unknown);
    expect(statusView({ ...row, reportedAt: new Date(now.getTime() - STATUS_STALE_MS - 1) }, now)).toEqual(unknown);
  });

  it('a report is heard no later than it arrived', () => {
    expect(reportedAt('2026-11-26T01:59:00Z', now)).toEqual(new Date('2026-11-26T01:59:00Z'));
    expect(reportedAt('2026-11-26T03:00:00Z', now)).toEqual(now);
    expect(reportedAt('garbage', now)).toEqual(now);
  });
});
