/** How long a network counts as watched after the tracker's last report. */
export const STATUS_STALE_MS = 2 * 60_000;

export interface StoredStatus {
  available: boolean;
  scannedHeight: number | null;
  tipHeight: number | null;
  lagBlocks: number | null;
  reportedAt: Date;
}

export interface NetworkStatusView {
  available: boolean;
  scannedHeight: number | null;
  tipHeight: number | null;
  lagBlocks: number | null;
  updatedAt: Date | null;
}

const UNKNOWN: NetworkStatusView = { available: false, scannedHeight: null, tipHeight: null, lagBlocks: null, updatedAt: null };

/**
 * A tracker that stopped reporting may be dead, so old figures would mislead: past the window
 * (or before any report) the network shows as unavailable with nothing known.
 */
export function statusView(row: StoredStatus | undefined, now: Date = new Date()): NetworkStatusView {
  if (!row || now.getTime() - row.reportedAt.getTime() > STATUS_STALE_MS) return UNKNOWN;
  return { available: row.available, scannedHeight: row.scannedHeight, tipHeight: row.tipHeight, lagBlocks: row.lagBlocks, updatedAt: row.reportedAt };
}

/**
 * When a report counts as heard: the tracker's own timestamp, but never later than we got it, so
 * a tracker clock running ahead cannot keep a dead network looking alive.
 */
export function reportedAt(at: string, receivedAt: Date = new Date()): Date {
  const t = new Date(at);
  if (Number.isNaN(t.getTime())) return receivedAt;
  return t.getTime() > receivedAt.getTime() ? receivedAt : t;
}
