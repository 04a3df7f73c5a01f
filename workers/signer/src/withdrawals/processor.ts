import type { EntityManager } from '@mikro-orm/postgresql';
import { ChainError, type NetworkConfig, type TransferOrder } from '@cpg/chains';
import { BitcoinSignerError } from '@cpg/chains/signers';
import type { KeyStore } from '@cpg/chains/keys';
import type { OutboxRelay } from '@cpg/core/db';
import type { Logger } from '@cpg/core/logger';
import { type BatchRow, type BatchStatus, BatchStore, type TxRow, storedOf } from './batch-store';
import { type HotWallet, type OutgoingStatus, PayoutRefused, type PayoutChain, isTransient } from './chains';
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
 * The HOT wallet's row lock makes one owner at a time of its nonce and coins. The decisions are
 * here; the SQL is in batch-store.ts, the chain work behind PayoutChain (chains.ts).
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

/** Announced when the shortfall changes in kind, not on every fee estimate that moves. */
const shortfallShape = (r: string | null) => (r ?? '').replace(/\d+(\.\d+)?/g, '#');

export class WithdrawalProcessor {
  private timer?: NodeJS.Timeout;
  private running = false;
  private again = false;
  private stopped = true;
  private current: Promise<void> = Promise.resolve();
  private readonly store: BatchStore;

  constructor(private readonly o: ProcessorOptions) {
    this.store = new BatchStore(o.em, o.schema, (id) => o.networks.get(id)?.nativeCoin.id ?? null);
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
      for (const batchId of await this.store.dueBatchIds()) {
        if (this.stopped) break;
        await this.step(batchId);
      }
    } catch (err) {
      this.o.log.warn({ err: (err as Error).message }, 'withdrawal pass failed; will retry');
    } finally {
      this.running = false;
    }
    this.schedule(this.again ? 0 : this.o.pollMs);
  }

  /**
   * Moves one batch as far as it can go now, under the batch's step claim: replicas on the same
   * database step different batches, and a batch another replica is stepping is skipped (it comes
   * round again on a later pass). Returns false when it was skipped. Exposed for tests.
   */
  async step(batchId: string): Promise<boolean> {
    return this.store.withStepClaim(batchId, () => this.stepClaimed(batchId));
  }

  private async stepClaimed(batchId: string): Promise<void> {
    const b = await this.store.load(batchId);
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
      await this.store.deferBy(batchId, Math.max(this.o.pollMs, 1000));
    }
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

  /** Nothing was signed for the batch: FAILED, so its holds can be released. */
  private async failUnsigned(b: BatchRow, reason: string): Promise<void> {
    await this.store.failUnsigned(b, reason);
    this.o.log.warn({ batchId: b.batch_id, reason }, 'withdrawal batch refused');
    this.o.relay.kick();
  }

  /** The wallet's next nonce: the node's pending count, never below what we already signed. */
  private async nextNonce(tx: EntityManager, chain: PayoutChain, wallet: HotWallet, networkId: string): Promise<number> {
    const signed = await this.store.maxSignedNonce(tx, networkId, wallet.address);
    const pending = await chain.pendingNonce(wallet.address);
    return Math.max(pending, (signed ?? -1) + 1);
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
    const wait = (tx: EntityManager) => this.store.deferBy(b.batch_id, this.o.pollMs, tx).then(() => false);

    const stored = await this.store.transaction(async (tx) => {
      const row = await this.store.lockForSigning(tx, b.batch_id);
      if (!row || (row.status !== 'NEW' && row.status !== 'WAITING_FUNDS')) return false;
      await this.store.lockWallet(tx, b.merchant_id, network.id);

      // One transaction of this wallet in flight between store and broadcast at a time: its
      // coins / nonce must reach the node before the next one is chosen.
      for (const t of await this.store.walletTxsInFlight(tx, network.id, wallet.address)) {
        if (t.kind === 'APPROVAL') {
          const st = await chain.status(storedOf(t));
          if (st.state === 'confirmed') {
            await this.store.approvalMined(tx, t.id, st.fee ?? BigInt(t.fee));
            continue;
          }
          if (st.state === 'pending') return wait(tx);
        }
        // Another batch's payout between store and broadcast: its own step sends it.
        if (t.kind === 'PAYOUT') return wait(tx);
        // A stored approval not sent yet (or dropped): send the stored bytes first.
        after.push(() => this.sendStored(chain, t));
        return wait(tx);
      }

      const funds = await chain.checkFunds(wallet, orders, batchContract);
      // Change of a payout still in the mempool is not spendable until that payout confirms.
      if (!funds.ok && network.family === 'BITCOIN' && (await this.store.hasUnminedPayout(tx, network.id, wallet.address)))
        funds.reason += '; an earlier payout from this wallet is not confirmed yet, and its change is spendable once it is';
      if (!funds.ok) {
        const changed = row.status !== 'WAITING_FUNDS' || shortfallShape(row.reason) !== shortfallShape(funds.reason);
        await this.store.waitForFunds(tx, b.batch_id, funds.reason, this.o.fundsRetryMs);
        if (changed) {
          await this.store.event(tx, b, 'WAITING_FUNDS', { reason: funds.reason });
          this.o.log.info({ batchId: b.batch_id, reason: funds.reason }, 'withdrawal batch waits for funds');
        }
        return false;
      }

      const nonce = chain.usesNonce ? await this.nextNonce(tx, chain, wallet, network.id) : null;
      if (batchContract && (await chain.needsApproval(wallet, orders, batchContract))) {
        // One-time approve of the batch contract, stored before broadcast like any payout.
        const approval = await this.withKey(wallet, (key) => chain.signApproval(key, b.coin_id, batchContract, nonce!));
        await this.store.insertTx(tx, b, 'APPROVAL', await this.store.approvalCount(tx, b.batch_id), wallet.address, approval);
        after.push(async () => {
          await this.sendStored(chain, { tx_hash: approval.txHash, raw: approval.raw, fee: approval.fee.toString() });
          this.kick();
        });
        this.o.log.info({ batchId: b.batch_id, txHash: approval.txHash, wallet: wallet.address }, 'approving the batch contract for the HOT wallet');
        return wait(tx);
      }

      const signed = await this.withKey(wallet, (key) => chain.sign(key, orders, batchContract, nonce)).catch((err: unknown) => {
        // The node refuses the payout in simulation (e.g. an EVM recipient that reverts): nothing
        // was signed, and retrying would not help. A coin race (spent meanwhile) is retried.
        if (err instanceof ChainError && !err.transient && !(err instanceof BitcoinSignerError && err.code === 'INSUFFICIENT_FUNDS'))
          throw new PayoutRefused(`cannot sign the payout: ${err.message}`);
        throw err;
      });
      await this.store.insertTx(tx, b, 'PAYOUT', 0, wallet.address, signed);
      await this.store.markSigned(tx, b.batch_id, signed.txHash);
      await this.store.event(tx, b, 'SIGNING', { txHash: signed.txHash });
      this.o.log.info({ batchId: b.batch_id, txHash: signed.txHash, payouts: orders.length, network: network.id }, 'withdrawal batch signed and stored');
      return true;
    });
    this.o.relay.kick();
    for (const a of after) await a().catch((err) => this.o.log.warn({ batchId: b.batch_id, err: (err as Error).message }, 'stored transaction not sent yet'));
    return stored;
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
      if (!isTransient(err)) await this.store.rejectSigned(t.tx_hash);
      throw err;
    }
    await this.store.sentSigned(t.tx_hash);
  }

  /** Sends the batch's newest stored payout (the first one, or a fee bump) and records it. */
  private async broadcastLatest(batchId: string): Promise<void> {
    const b = await this.store.load(batchId);
    if (!b || FINAL.includes(b.status)) return;
    const chain = this.o.chainFor(this.network(b));
    const t = await this.store.newestSignedPayout(batchId);
    if (!t) return;
    try {
      await chain.broadcast({ txHash: t.tx_hash, raw: t.raw, fee: BigInt(t.fee) });
    } catch (err) {
      if (isTransient(err)) throw err; // outcome unknown: the same bytes go again next pass
      // The first version was never accepted, so nothing was spent and the holds may be released;
      // a refused fee bump leaves the transaction it would replace in flight.
      if (t.seq === 0) await this.store.failRejected(b, t, `the node rejected transaction ${t.tx_hash}: ${(err as Error).message}`);
      else await this.store.rejectBump(b, t);
      this.o.relay.kick();
      this.o.log.warn(
        { batchId, txHash: t.tx_hash, seq: t.seq, err: (err as Error).message },
        t.seq === 0 ? 'withdrawal transaction rejected; batch failed' : 'fee bump refused',
      );
      return;
    }
    await this.store.recordBroadcast(b, t, this.o.pollMs);
    this.o.relay.kick();
    this.o.log.info({ batchId, txHash: t.tx_hash, seq: t.seq }, 'withdrawal transaction broadcast');
  }

  /** BROADCAST: follows every transaction of the batch (a bump's predecessor may be the one mined). */
  private async watch(b: BatchRow): Promise<void> {
    const network = this.network(b);
    const chain = this.o.chainFor(network);
    const txs = await this.store.payoutVersions(b.batch_id);
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
      else await this.store.deferBy(b.batch_id, this.o.pollMs);
      return;
    }
    // Every version left the mempool without being mined: send the newest again, same bytes.
    try {
      await chain.broadcast({ txHash: latest.tx_hash, raw: latest.raw, fee: BigInt(latest.fee) });
      this.o.log.warn({ batchId: b.batch_id, txHash: latest.tx_hash }, 'withdrawal transaction had left the mempool; re-broadcast');
      await this.store.deferBy(b.batch_id, this.o.pollMs);
    } catch (err) {
      if (isTransient(err)) throw err;
      // Neither it nor any earlier version is mined, and the node will not take it back: its
      // inputs / nonce went elsewhere. Nothing of this batch was spent.
      const reason = `transaction ${latest.tx_hash} was dropped and cannot be re-broadcast: ${(err as Error).message}`;
      await this.store.failDropped(b, latest.tx_hash, reason);
      this.o.relay.kick();
    }
  }

  private async confirmedAt(b: BatchRow, network: NetworkConfig, t: TxRow, st: Extract<OutgoingStatus, { state: 'confirmed' }>): Promise<void> {
    if (st.confirmations < Math.max(1, network.confirmations)) {
      await this.store.recordDepth(b.batch_id, t.tx_hash, st.confirmations, this.o.pollMs);
      return;
    }
    const paid = st.fee ?? BigInt(t.fee);
    await this.store.recordFinal(b, t, {
      status: st.success ? 'CONFIRMED' : 'FAILED',
      reason: st.success ? null : `transaction ${t.tx_hash} reverted on chain in block ${st.blockHeight}; nothing was paid out, but its gas (fee) was spent`,
      paid,
      blockHeight: st.blockHeight,
      confirmations: st.confirmations,
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
      await this.store.restartWait(latest.id);
      await this.store.deferBy(b.batch_id, this.o.pollMs);
      return;
    }
    await this.store.insertReplacement(b, latest, replacement);
    this.o.log.info({ batchId: b.batch_id, replaces: latest.tx_hash, txHash: replacement.txHash }, 'fee bump signed and stored');
    await this.broadcastLatest(b.batch_id);
  }
}
