import type { EntityManager } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import { type NetworkStatusView, type StoredStatus, statusView } from '../domain/status';

interface StatusRow {
  network_id: string;
  available: boolean;
  scanned_height: string | null;
  tip_height: string | null;
  lag_blocks: string | null;
  reported_at: Date | string;
}

const num = (v: string | number | null): number | null => (v == null ? null : Number(v));

/** One read per request for every network's status, however many networks the query lists. */
export class NetworkStatusReader {
  private rows?: Promise<Map<string, StoredStatus>>;

  constructor(private readonly em: EntityManager) {}

  async of(networkId: string): Promise<NetworkStatusView> {
    this.rows ??= this.load();
    return statusView((await this.rows).get(networkId));
  }

  private async load(): Promise<Map<string, StoredStatus>> {
    const rows = await this.em.execute<StatusRow[]>(
      `select network_id, available, scanned_height, tip_height, lag_blocks, reported_at from "${SCHEMA}".network_status`,
    );
    return new Map(
      rows.map((r) => [
        r.network_id,
        {
          available: r.available,
          scannedHeight: num(r.scanned_height),
          tipHeight: num(r.tip_height),
          lagBlocks: num(r.lag_blocks),
          reportedAt: new Date(r.reported_at),
        },
      ]),
    );
  }
}
