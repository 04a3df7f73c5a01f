import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import { ChainError, type NetworkConfig, type TransferOrder } from '@cpg/chains';
import { BitcoinSignerError } from '@cpg/chains/bitcoin/signer';
import { type OutboxRelay, writeOutbox } from '@cpg/core/db';
import type { KeyStore } from '@cpg/chains/keys';
import type { Logger } from '@cpg/core/logger';
import { type HotWallet, type OutgoingStatus, PayoutRefused, type PayoutChain, type SignedPayout, type StoredTx, isTransient } from './chains';
import type { BatchContracts } from './contracts';
import type { HotWallets } from './hot-wallets';

/**
 * The signer's side of a withdrawal batch, one step per visit:
 *
 *   NEW / WAITING_FUNDS --funds ok, signed and stored (+ SIGNING event)--> SIGNED
 *   SIGNED --broadcast (+ BROADCAST event)--> BROADCAST
 *   BROADCAST --depth >= network confirmations (+ CONFIRMED event)--> CONFIRMED
 *   NEW / WAITING_FUNDS / SIGNED (rejected by the node) / BROADCAST (dropped, cannot be re-sent),
 *   or reverted on chain --> FAILED
 *
 * The signed transaction and its event commit together before anything is broadcast, so a
 * crash between the two re-broadcasts the stored bytes; nothing is ever signed twice for a batch
 * except a fee bump, which replaces (same nonce / same inputs) and so can never pay twice.
 * The HOT wallet's row lock makes one owner at a time of its nonce and coins.
 *
 * Events (withdrawal.batch.updated, through the outbox, key = batchId):
 * - WAITING_FUNDS: reason says what the HOT wallet lacks; sent again only when the kind of
 *   shortfall changes. Retried every WITHDRAWAL_FUNDS_RETRY_MS, and at once when the same
 *   withdrawal.batch.ready arrives again.
 * - SIGNING: the signed transaction is stored (txHash is the hash it will have).
 * - BROADCAST: txHash sent; a fee bump sends BROADCAST again with the replacement's hash.
 * - CONFIRMED: at the network's confirmations; txHash is the version that was mined, fee what it
 *   actually paid in the network's native coin (feeCoinId): Bitcoin family inputs minus outputs,
 *   EVM gasUsed x effectiveGasPrice, Tron the TRX burnt; for an ERC-20 batch that first needed
 *   the one-time approve of the batch contract, that approval's gas is included.
 * - FAILED: nothing of the batch was paid out. fee is null when nothing was spent either
 *   (refused before signing, rejected by the node, dropped and not re-sendable); fee is set when
 *   a transaction was mined but reverted (EVM / Tron): its gas was spent and must be charged.
 */

export type BatchStatus = 'NEW' | 'WAITING_FUNDS' | 'SIGNED' | 'BROADCAST' | 'CONFIRMED' | 'FAILED';

interface BatchRow {
  batch_id: string;
  merchant_id: string;
  network_id: string;
  coin_id: string;
  items: { withdrawalId: string; toAddress: string; amount: string }[];
  status: BatchStatus;
  reason: string | null;
  tx_hash: string | null;
  confirmations: number;
}

interface TxRow {
  id: string;
  batch_id: string;
  kind: 'PAYOUT' | 'APPROVAL';
  seq: number;
  from_address: string;
  nonce: string | null;
  tx_hash: string;
  raw: string;
  fee: string;
  fee_detail: Record<string, string>;
  status: string;
  broadcast_at: Date | null;
}

export interface ProcessorOptions {
  em: EntityManager;
  schema: string;
  keys: KeyStore;
  wallets: HotWallets;
  contracts: BatchContracts;
  relay: OutboxRelay;
  log: Logger;
  /** Enabled networks this signer pays on. */
  networks: Map<string, NetworkConfig>;
  chainFor(network: NetworkConfig): PayoutChain;
  pollMs: number;
  fundsRetryMs: number;
  bumpAfterSeconds: number;
  bumpPercent: number;
  /** Runs after a signed transaction is committed and before it is broadcast (crash tests). */
  afterSign?: (batchId: string) => Promise<void> | void;
}

const FINAL: BatchStatus[] = ['CONFIRMED', 'FAILED'];

function storedOf(t: TxRow): StoredTx {
  return { txHash: t.tx_hash, raw: t.raw, fee: BigInt(t.fee), feeDetail: t.fee_detail, nonce: t.nonce === null ? null : Number(t.nonce) };
}

export class WithdrawalProcessor {
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = true;
  private current: Promise<void> = Promise.resolve();
  private readonly s: string;

  constructor(private readonly o: ProcessorOptions) {
    this.s = `"${o.schema}"`;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Look at due batches now (a batch arrived, or someone asks to retry). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.current.catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.current = this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    this.again = false;
    try {
      const due = await this.o.em
        .fork()
        .getConnection()
        .execute<{ batch_id: string }[]>(
          `select batch_id from ${this.s}.withdrawal_batches where status not in ('CONFIRMED','FAILED') and next_check_at <= now() order by created_at limit 100`,
        );
      for (const { batch_id } of due) {
        if (this.stopped) break;
        await this.step(batch_id);
      }
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'withdrawal pass failed; will retry');
    } finally {
      this.running = false;
    }
    this.schedule(this.again ? 0 : this.o.pollMs);
  }

  /** Moves one batch as far as it can go now. Exposed for tests. */
  async step(batchId: string): Promise<void> {
    const b = await this.load(batchId);
    if (!b || FINAL.includes(b.status)) return;
    try {
      if (b.status === 'NEW' || b.status === 'WAITING_FUNDS') {
        if (await this.prepare(b)) {
          await this.o.afterSign?.(batchId);
          if (this.stopped) return;
          await this.broadcastLatest(batchId);
        }
      } else if (b.status === 'SIGNED') {
        await this.broadcastLatest(batchId);
      } else if (b.status === 'BROADCAST') {
        await this.watch(b);
      }
    } catch (err) {
      if (err instanceof PayoutRefused) {
        await this.failUnsigned(b, err.message);
        return;
      }
      this.o.log.warn({ batchId, status: b.status, err: (err as Error).message }, 'withdrawal batch step failed; will retry');
      await this.deferBy(batchId, Math.max(this.o.pollMs, 1000));
    }
  }

  private async load(batchId: string, em: EntityManager = this.o.em.fork()): Promise<BatchRow | null> {
    const [row] = await em.getConnection().execute<BatchRow[]>(`select * from ${this.s}.withdrawal_batches where batch_id = ?`, [batchId]);
    return row ?? null;
  }

  private network(b: BatchRow): NetworkConfig {
    const n = this.o.networks.get(b.network_id);
    if (!n) throw new PayoutRefused(`network ${b.network_id} is not enabled on this signer`);
    if (!n.coins.some((c) => c.id === b.coin_id)) throw new PayoutRefused(`${b.coin_id} is not a coin of ${b.network_id}`);
    return n;
  }

  private orders(b: BatchRow): TransferOrder[] {
    return b.items.map((i) => ({ to: i.toAddress, coinId: b.coin_id, amount: BigInt(i.amount) }));
  }

  private async event(
    em: EntityManager,
    b: BatchRow,
    status: 'WAITING_FUNDS' | 'SIGNING' | 'BROADCAST' | 'CONFIRMED' | 'FAILED',
    extra: { txHash?: string | null; fee?: bigint | null; reason?: string | null; confirmations?: number } = {},
  ): Promise<void> {
    const network = this.o.networks.get(b.network_id);
    await writeOutbox(
      em,
      this.o.schema,
      'withdrawal.batch.updated',
      {
        batchId: b.batch_id,
        merchantId: b.merchant_id,
        network: b.network_id,
        coinId: b.coin_id,
        status,
        txHash: extra.txHash ?? null,
        fee: extra.fee === undefined || extra.fee === null ? null : extra.fee.toString(),
        feeCoinId: extra.fee === undefined || extra.fee === null ? null : (network?.nativeCoin.id ?? null),
        reason: extra.reason ?? null,
        confirmations: extra.confirmations ?? 0,
      },
      { key: b.batch_id },
    );
  }

  private async deferBy(batchId: string, ms: number): Promise<void> {
    await this.o.em
      .fork()
      .getConnection()
      .execute(`update ${this.s}.withdrawal_batches set next_check_at = now() + (? * interval '1 millisecond') where batch_id = ?`, [ms, batchId]);
  }

  /** Nothing was signed for the batch: FAILED, so its holds can be released. */
  private async failUnsigned(b: BatchRow, reason: string): Promise<void> {
    await this.o.em.fork().transactional(async (tx) => {
      const rows = await tx.execute(
        `update ${this.s}.withdrawal_batches set status = 'FAILED', reason = ?, updated_at = now() where batch_id = ? and status in ('NEW','WAITING_FUNDS') returning batch_id`,
        [reason, b.batch_id],
      );
      if (rows.length) await this.event(tx, b, 'FAILED', { reason });
    });
    this.o.log.warn({ batchId: b.batch_id, reason }, 'withdrawal batch refused');
    this.o.relay.kick();
  }

  /** The wallet's next nonce: the node's pending count, never below what we already signed. */
  private async nextNonce(tx: EntityManager, chain: PayoutChain, wallet: HotWallet, networkId: string): Promise<number> {
    const [row] = await tx.execute<{ n: string | null }[]>(
      `select max(nonce)::text as n from ${this.s}.withdrawal_txs where network_id = ? and from_address = ? and status in ('SIGNED','BROADCAST','REPLACED','CONFIRMED')`,
      [networkId, wallet.address],
    );
    const pending = await chain.pendingNonce(wallet.address);
    const stored = row?.n === null || row?.n === undefined ? -1 : Number(row.n);
    return Math.max(pending, stored + 1);
  }

  private async insertTx(
    tx: EntityManager,
    b: BatchRow,
    kind: 'PAYOUT' | 'APPROVAL',
    seq: number,
    from: string,
    signed: SignedPayout,
    status: 'SIGNED' = 'SIGNED',
  ): Promise<void> {
    await tx.execute(
      `insert into ${this.s}.withdrawal_txs (id, batch_id, kind, seq, network_id, from_address, nonce, tx_hash, raw, fee, fee_detail, status)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?::jsonb, ?)`,
      [
        randomUUID(),
        b.batch_id,
        kind,
        seq,
        b.network_id,
        from,
        signed.nonce,
        signed.txHash,
        signed.raw,
        signed.fee.toString(),
        JSON.stringify(signed.feeDetail),
        status,
      ],
    );
  }

  /**
   * Under the batch's and the wallet's row locks: checks funds, then signs and stores the
   * transaction with its SIGNING event. Returns true when a transaction was stored (and must now
   * be broadcast).
   */
  private async prepare(b: BatchRow): Promise<boolean> {
    const network = this.network(b);
    const chain = this.o.chainFor(network);
    const orders = this.orders(b);
    chain.validate(orders);
    const wallet = await this.o.wallets.ensure(b.merchant_id, network);
    const batchContract = orders.length > 1 && network.family === 'EVM' ? await this.o.contracts.batchTransfer(network) : null;
    const after: (() => Promise<void>)[] = [];

    const stored = await this.o.em.fork().transactional(async (tx) => {
      const [row] = await tx.execute<BatchRow[]>(`select * from ${this.s}.withdrawal_batches where batch_id = ? for update skip locked`, [b.batch_id]);
      if (!row || (row.status !== 'NEW' && row.status !== 'WAITING_FUNDS')) return false;
      await tx.execute(`select 1 from ${this.s}.hot_wallets where merchant_id = ? and network_id = ? for update`, [b.merchant_id, network.id]);

      // One transaction of this wallet in flight between store and broadcast at a time: its
      // coins / nonce must reach the node before the next one is chosen.
      const busy = await tx.execute<TxRow[]>(
        `select * from ${this.s}.withdrawal_txs where network_id = ? and from_address = ? and (status = 'SIGNED' or (kind = 'APPROVAL' and status = 'BROADCAST'))`,
        [network.id, wallet.address],
      );
      for (const t of busy) {
        if (t.kind === 'APPROVAL') {
          const st = await chain.status(storedOf(t));
          if (st.state === 'confirmed') {
            await tx.execute(`update ${this.s}.withdrawal_txs set status = 'CONFIRMED', fee_paid = ? where id = ?`, [
              (st.fee ?? BigInt(t.fee)).toString(),
              t.id,
            ]);
            continue;
          }
          if (st.state === 'pending') return this.wait(tx, b.batch_id, this.o.pollMs);
        }
        // Another batch's payout between store and broadcast: its own step sends it.
        if (t.kind === 'PAYOUT') return this.wait(tx, b.batch_id, this.o.pollMs);
        // A stored approval not sent yet (or dropped): send the stored bytes first.
        after.push(() => this.sendStored(chain, t));
        return this.wait(tx, b.batch_id, this.o.pollMs);
      }

      const funds = await chain.checkFunds(wallet, orders, batchContract);
      if (!funds.ok && network.family === 'BITCOIN') {
        const inFlight = await tx.execute(
          `select 1 from ${this.s}.withdrawal_txs where network_id = ? and from_address = ? and status in ('BROADCAST','REPLACED') limit 1`,
          [network.id, wallet.address],
        );
        // Change of a payout still in the mempool is not spendable until that payout confirms.
        if (inFlight.length) funds.reason += '; an earlier payout from this wallet is not confirmed yet, and its change is spendable once it is';
      }
      if (!funds.ok) {
        // Announced when the shortfall changes in kind, not on every fee estimate that moves.
        const shape = (r: string | null) => (r ?? '').replace(/\d+(\.\d+)?/g, '#');
        const changed = row.status !== 'WAITING_FUNDS' || shape(row.reason) !== shape(funds.reason);
        await tx.execute(
          `update ${this.s}.withdrawal_batches set status = 'WAITING_FUNDS', reason = ?, updated_at = now(), next_check_at = now() + (? * interval '1 millisecond') where batch_id = ?`,
          [funds.reason, this.o.fundsRetryMs, b.batch_id],
        );
        if (changed) {
          await this.event(tx, b, 'WAITING_FUNDS', { reason: funds.reason });
          this.o.log.info({ batchId: b.batch_id, reason: funds.reason }, 'withdrawal batch waits for funds');
        }
        return false;
      }

      const nonce = chain.usesNonce ? await this.nextNonce(tx, chain, wallet, network.id) : null;
      if (batchContract && (await chain.needsApproval(wallet, orders, batchContract))) {
        // One-time approve of the batch contract, stored before broadcast like any payout.
        const approval = await this.withKey(wallet, (key) => chain.signApproval(key, b.coin_id, batchContract, nonce!));
        const [{ n }] = (await tx.execute<{ n: number }[]>(`select count(*)::int as n from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'APPROVAL'`, [
          b.batch_id,
        ])) as [{ n: number }];
        await this.insertTx(tx, b, 'APPROVAL', n, wallet.address, approval);
        const t = { tx_hash: approval.txHash, raw: approval.raw, fee: approval.fee.toString() } as TxRow;
        after.push(async () => {
          await this.sendStored(chain, t);
          this.kick();
        });
        this.o.log.info({ batchId: b.batch_id, txHash: approval.txHash, wallet: wallet.address }, 'approving the batch contract for the HOT wallet');
        return this.wait(tx, b.batch_id, this.o.pollMs);
      }

      const signed = await this.withKey(wallet, (key) => chain.sign(key, orders, batchContract, nonce)).catch((err: unknown) => {
        // The node refuses the payout in simulation (e.g. an EVM recipient that reverts): nothing
        // was signed, and retrying would not help. A coin race (spent meanwhile) is retried.
        if (err instanceof ChainError && !err.transient && !(err instanceof BitcoinSignerError && err.code === 'INSUFFICIENT_FUNDS'))
          throw new PayoutRefused(`cannot sign the payout: ${err.message}`);
        throw err;
      });
      await this.insertTx(tx, b, 'PAYOUT', 0, wallet.address, signed);
      await tx.execute(`update ${this.s}.withdrawal_batches set status = 'SIGNED', reason = null, tx_hash = ?, updated_at = now() where batch_id = ?`, [
        signed.txHash,
        b.batch_id,
      ]);
      await this.event(tx, b, 'SIGNING', { txHash: signed.txHash });
      this.o.log.info({ batchId: b.batch_id, txHash: signed.txHash, payouts: orders.length, network: network.id }, 'withdrawal batch signed and stored');
      return true;
    });
    this.o.relay.kick();
    for (const a of after) await a().catch((err) => this.o.log.warn({ batchId: b.batch_id, err: (err as Error).message }, 'stored transaction not sent yet'));
    return stored;
  }

  private async wait(tx: EntityManager, batchId: string, ms: number): Promise<false> {
    await tx.execute(`update ${this.s}.withdrawal_batches set next_check_at = now() + (? * interval '1 millisecond') where batch_id = ?`, [ms, batchId]);
    return false;
  }

  private async withKey<T>(wallet: HotWallet, use: (key: { privateKey: Uint8Array; address: string }) => Promise<T>): Promise<T> {
    const key = await this.o.keys.privateKeyForKey(wallet.keyId);
    try {
      if (key.address !== wallet.address) throw new Error(`key ${wallet.keyId} does not control HOT wallet ${wallet.address}`);
      return await use(key);
    } finally {
      key.privateKey.fill(0);
    }
  }

  /** Broadcasts a stored row and marks it BROADCAST (approvals and stuck SIGNED rows of other batches). */
  private async sendStored(chain: PayoutChain, t: Pick<TxRow, 'tx_hash' | 'raw' | 'fee'>): Promise<void> {
    try {
      await chain.broadcast({ txHash: t.tx_hash, raw: t.raw, fee: BigInt(t.fee) });
    } catch (err) {
      // Refused for good: it never spent anything; a later pass signs a fresh one if still needed.
      if (!isTransient(err))
        await this.o.em
          .fork()
          .getConnection()
          .execute(`update ${this.s}.withdrawal_txs set status = 'REJECTED' where tx_hash = ? and status = 'SIGNED'`, [t.tx_hash]);
      throw err;
    }
    await this.o.em
      .fork()
      .getConnection()
      .execute(
        `update ${this.s}.withdrawal_txs set status = 'BROADCAST', broadcast_at = coalesce(broadcast_at, now()) where tx_hash = ? and status = 'SIGNED'`,
        [t.tx_hash],
      );
  }

  /** Sends the batch's newest stored payout (the first one, or a fee bump) and records it. */
  private async broadcastLatest(batchId: string): Promise<void> {
    const b = await this.load(batchId);
    if (!b || FINAL.includes(b.status)) return;
    const chain = this.o.chainFor(this.network(b));
    const [t] = await this.o.em
      .fork()
      .getConnection()
      .execute<TxRow[]>(`select * from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'PAYOUT' and status = 'SIGNED' order by seq desc limit 1`, [
        batchId,
      ]);
    if (!t) return;
    try {
      await chain.broadcast({ txHash: t.tx_hash, raw: t.raw, fee: BigInt(t.fee) });
    } catch (err) {
      if (isTransient(err)) throw err; // outcome unknown: the same bytes go again next pass
      const reason = `the node rejected transaction ${t.tx_hash}: ${(err as Error).message}`;
      await this.o.em.fork().transactional(async (tx) => {
        await tx.execute(`update ${this.s}.withdrawal_txs set status = 'REJECTED' where id = ?`, [t.id]);
        if (t.seq === 0) {
          // Never accepted, so nothing was spent: the holds may be released.
          await tx.execute(`update ${this.s}.withdrawal_batches set status = 'FAILED', reason = ?, updated_at = now() where batch_id = ?`, [reason, batchId]);
          await this.event(tx, b, 'FAILED', { reason, txHash: t.tx_hash });
        } else {
          // A refused fee bump: the transaction it would replace is still the one in flight.
          await tx.execute(
            `update ${this.s}.withdrawal_txs set broadcast_at = now() where batch_id = ? and kind = 'PAYOUT' and status = 'BROADCAST' and seq = (select max(seq) from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'PAYOUT' and status = 'BROADCAST')`,
            [batchId, batchId],
          );
        }
      });
      this.o.relay.kick();
      this.o.log.warn(
        { batchId, txHash: t.tx_hash, seq: t.seq, err: (err as Error).message },
        t.seq === 0 ? 'withdrawal transaction rejected; batch failed' : 'fee bump refused',
      );
      return;
    }
    await this.o.em.fork().transactional(async (tx) => {
      const marked = await tx.execute(
        `update ${this.s}.withdrawal_txs set status = 'BROADCAST', broadcast_at = now() where id = ? and status = 'SIGNED' returning id`,
        [t.id],
      );
      if (!marked.length) return;
      await tx.execute(`update ${this.s}.withdrawal_txs set status = 'REPLACED' where batch_id = ? and kind = 'PAYOUT' and status = 'BROADCAST' and id <> ?`, [
        batchId,
        t.id,
      ]);
      await tx.execute(
        `update ${this.s}.withdrawal_batches set status = 'BROADCAST', tx_hash = ?, updated_at = now(), next_check_at = now() + (? * interval '1 millisecond') where batch_id = ?`,
        [t.tx_hash, this.o.pollMs, batchId],
      );
      await this.event(tx, b, 'BROADCAST', { txHash: t.tx_hash });
    });
    this.o.relay.kick();
    this.o.log.info({ batchId, txHash: t.tx_hash, seq: t.seq }, 'withdrawal transaction broadcast');
  }

  /** BROADCAST: follows every transaction of the batch (a bump's predecessor may be the one mined). */
  private async watch(b: BatchRow): Promise<void> {
    const network = this.network(b);
    const chain = this.o.chainFor(network);
    const txs = await this.o.em
      .fork()
      .getConnection()
      .execute<TxRow[]>(
        `select * from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'PAYOUT' and status in ('SIGNED','BROADCAST','REPLACED') order by seq desc`,
        [b.batch_id],
      );
    const latest = txs[0];
    if (!latest) throw new Error(`batch ${b.batch_id} is BROADCAST without a transaction`);
    if (latest.status === 'SIGNED') return this.broadcastLatest(b.batch_id);

    const states = new Map<string, OutgoingStatus>();
    for (const t of txs) {
      const st = await chain.status(storedOf(t));
      states.set(t.id, st);
      if (st.state === 'confirmed') return this.confirmedAt(b, network, t, st);
    }
    const latestState = states.get(latest.id)!;
    if (latestState.state === 'pending') {
      const age = latest.broadcast_at ? (Date.now() - new Date(latest.broadcast_at).getTime()) / 1000 : 0;
      if (age >= this.o.bumpAfterSeconds) await this.bump(b, chain, latest);
      else await this.deferBy(b.batch_id, this.o.pollMs);
      return;
    }
    // Every version left the mempool without being mined: send the newest again, same bytes.
    try {
      await chain.broadcast({ txHash: latest.tx_hash, raw: latest.raw, fee: BigInt(latest.fee) });
      this.o.log.warn({ batchId: b.batch_id, txHash: latest.tx_hash }, 'withdrawal transaction had left the mempool; re-broadcast');
      await this.deferBy(b.batch_id, this.o.pollMs);
    } catch (err) {
      if (isTransient(err)) throw err;
      // Neither it nor any earlier version is mined, and the node will not take it back: its
      // inputs / nonce went elsewhere. Nothing of this batch was spent.
      const reason = `transaction ${latest.tx_hash} was dropped and cannot be re-broadcast: ${(err as Error).message}`;
      await this.o.em.fork().transactional(async (tx) => {
        await tx.execute(
          `update ${this.s}.withdrawal_txs set status = 'DROPPED' where batch_id = ? and kind = 'PAYOUT' and status in ('BROADCAST','REPLACED')`,
          [b.batch_id],
        );
        const rows = await tx.execute(
          `update ${this.s}.withdrawal_batches set status = 'FAILED', reason = ?, updated_at = now() where batch_id = ? and status = 'BROADCAST' returning batch_id`,
          [reason, b.batch_id],
        );
        if (rows.length) await this.event(tx, b, 'FAILED', { reason, txHash: latest.tx_hash });
      });
      this.o.relay.kick();
    }
  }

  private async confirmedAt(b: BatchRow, network: NetworkConfig, t: TxRow, st: Extract<OutgoingStatus, { state: 'confirmed' }>): Promise<void> {
    if (st.confirmations < Math.max(1, network.confirmations)) {
      await this.o.em
        .fork()
        .getConnection()
        .execute(
          `update ${this.s}.withdrawal_batches set confirmations = ?, tx_hash = ?, next_check_at = now() + (? * interval '1 millisecond') where batch_id = ?`,
          [st.confirmations, t.tx_hash, this.o.pollMs, b.batch_id],
        );
      return;
    }
    const paid = st.fee ?? BigInt(t.fee);
    await this.o.em.fork().transactional(async (tx) => {
      const [row] = await tx.execute<BatchRow[]>(`select * from ${this.s}.withdrawal_batches where batch_id = ? for update`, [b.batch_id]);
      if (!row || row.status !== 'BROADCAST') return;
      await tx.execute(`update ${this.s}.withdrawal_txs set status = 'CONFIRMED', fee_paid = ?, block_height = ? where id = ?`, [
        paid.toString(),
        st.blockHeight,
        t.id,
      ]);
      await tx.execute(
        `update ${this.s}.withdrawal_txs set status = 'DROPPED' where batch_id = ? and kind = 'PAYOUT' and id <> ? and status in ('BROADCAST','REPLACED','SIGNED')`,
        [b.batch_id, t.id],
      );
      // The one-time approval this batch needed was paid from the same HOT wallet: charge it here.
      const [{ approvals }] = (await tx.execute<{ approvals: string }[]>(
        `select coalesce(sum(fee_paid), 0)::text as approvals from ${this.s}.withdrawal_txs where batch_id = ? and kind = 'APPROVAL' and status = 'CONFIRMED'`,
        [b.batch_id],
      )) as [{ approvals: string }];
      const fee = paid + BigInt(approvals);
      const status = st.success ? 'CONFIRMED' : 'FAILED';
      const reason = st.success
        ? null
        : `transaction ${t.tx_hash} reverted on chain in block ${st.blockHeight}; nothing was paid out, but its gas (fee) was spent`;
      await tx.execute(
        `update ${this.s}.withdrawal_batches set status = ?, reason = ?, tx_hash = ?, fee = ?, confirmations = ?, updated_at = now() where batch_id = ?`,
        [status, reason, t.tx_hash, fee.toString(), st.confirmations, b.batch_id],
      );
      await this.event(tx, b, status, { txHash: t.tx_hash, fee, reason, confirmations: st.confirmations });
    });
    this.o.relay.kick();
    this.o.log.info({ batchId: b.batch_id, txHash: t.tx_hash, fee: paid.toString(), success: st.success }, 'withdrawal transaction final');
  }

  private async bump(b: BatchRow, chain: PayoutChain, latest: TxRow): Promise<void> {
    const wallet = await this.o.wallets.find(b.merchant_id, b.network_id);
    if (!wallet) throw new Error(`HOT wallet of batch ${b.batch_id} is gone`);
    const replacement = await this.withKey(wallet, (key) => chain.bump(key, storedOf(latest), this.o.bumpPercent));
    if (!replacement) {
      this.o.log.warn({ batchId: b.batch_id, txHash: latest.tx_hash }, 'stuck withdrawal transaction cannot be fee-bumped (no change to pay from); waiting');
      await this.o.em.fork().getConnection().execute(`update ${this.s}.withdrawal_txs set broadcast_at = now() where id = ?`, [latest.id]);
      await this.deferBy(b.batch_id, this.o.pollMs);
      return;
    }
    await this.o.em.fork().transactional(async (tx) => {
      await this.insertTx(tx, b, 'PAYOUT', latest.seq + 1, latest.from_address, replacement);
    });
    this.o.log.info({ batchId: b.batch_id, replaces: latest.tx_hash, txHash: replacement.txHash }, 'fee bump signed and stored');
    await this.broadcastLatest(b.batch_id);
  }
}
