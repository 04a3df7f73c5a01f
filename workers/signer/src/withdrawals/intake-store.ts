import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * How withdrawal batches enter signer.withdrawal_batches (withdrawal.batch.ready) and are woken
 * early (a repeat of the message, coins reaching a HOT wallet), for the consumers. The processor
 * moves them on through batch-store.ts. Raw SQL with row types.
 */

/** A batch as withdrawal.batch.ready carries it. */
export interface ReadyBatch {
  batchId: string;
  merchantId: string;
  network: string;
  coinId: string;
  items: { withdrawalId: string; toAddress: string; amount: string }[];
}

export class IntakeStore {
  private readonly s: string;

  constructor(
    private readonly em: EntityManager,
    schema: string,
  ) {
    this.s = `"${schema}"`;
  }

  private conn() {
    return this.em.fork().getConnection();
  }

  /** Whether the batch is stored already (it was confirmed when it was stored). */
  async exists(batchId: string): Promise<boolean> {
    const rows = await this.conn().execute(`select 1 as n from ${this.s}.withdrawal_batches where batch_id = ?`, [batchId]);
    return rows.length > 0;
  }

  /** Stores a confirmed batch as NEW; false when the batchId is already stored (nothing changes). */
  async insertNew(d: ReadyBatch): Promise<boolean> {
    const total = d.items.reduce((s, i) => s + BigInt(i.amount), 0n);
    const inserted = await this.conn().execute(
      `insert into ${this.s}.withdrawal_batches (batch_id, merchant_id, network_id, coin_id, items, total, status)
       values (?, ?, ?, ?, ?::jsonb, ?, 'NEW') on conflict (batch_id) do nothing returning batch_id`,
      [d.batchId, d.merchantId, d.network, d.coinId, JSON.stringify(d.items), total.toString()],
    );
    return inserted.length > 0;
  }

  /** What a stored batch pays, to compare with a repeat of its message. */
  async storedContent(batchId: string): Promise<ReadyBatch | null> {
    const [row] = await this.conn().execute<{ merchant_id: string; network_id: string; coin_id: string; items: ReadyBatch['items'] }[]>(
      `select merchant_id, network_id, coin_id, items from ${this.s}.withdrawal_batches where batch_id = ?`,
      [batchId],
    );
    return row ? { batchId, merchantId: row.merchant_id, network: row.network_id, coinId: row.coin_id, items: row.items } : null;
  }

  /** A batch that waits to be signed is looked at on the next pass. */
  async wakeUnsigned(batchId: string): Promise<void> {
    await this.conn().execute(`update ${this.s}.withdrawal_batches set next_check_at = now() where batch_id = ? and status in ('NEW','WAITING_FUNDS')`, [
      batchId,
    ]);
  }

  /** Coins reached a HOT wallet: its merchant's WAITING_FUNDS batches on that network are due now. Returns how many. */
  async wakeWaitingFor(networkId: string, address: string): Promise<number> {
    const woken = await this.conn().execute(
      `update ${this.s}.withdrawal_batches b set next_check_at = now()
       from ${this.s}.hot_wallets h
       where h.network_id = ? and h.address = ? and b.merchant_id = h.merchant_id and b.network_id = h.network_id and b.status = 'WAITING_FUNDS'
       returning b.batch_id`,
      [networkId, address],
    );
    return woken.length;
  }
}
