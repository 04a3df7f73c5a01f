import { ChainError, type NetworkConfig, type RpcTransport } from '../types';
import { paramsOf } from './address';
import { RPC_INVALID_ADDRESS_OR_KEY, RPC_METHOD_NOT_FOUND, rpcErrorCode } from './rpc';
import type { RawTransaction } from './raw';

export type BitcoinTxStatus = { state: 'pending' | 'dropped' } | { state: 'confirmed'; blockHeight: number; blockHash: string };

/**
 * Where one transaction of a Bitcoin-family network stands, through Bitcoin Core's RPC. Shared by
 * the tracker's watcher (mempool transfers that left the mempool) and the signer (its own
 * withdrawals), so the signer needs no watcher. Needs `-txindex=1` on the node: without it a
 * confirmed transaction cannot be told apart from a dropped one.
 */
export class BitcoinTxStatusReader {
  private txindexChecked = false;

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
  ) {
    paramsOf(network);
  }

  /** Called every poll and for each status's depth. Read-only, idempotent. */
  async getTipHeight(): Promise<number> {
    return this.transport.call<number>('getblockcount');
  }

  /**
   * Called for a transaction not yet seen confirmed. 'dropped' means neither the active chain nor
   * the mempool knows the transaction (evicted, replaced by fee bump or double spend). Read-only,
   * idempotent.
   */
  async getTransactionStatus(txHash: string): Promise<BitcoinTxStatus> {
    await this.requireTxindex();
    let tx: RawTransaction;
    try {
      tx = await this.transport.call<RawTransaction>('getrawtransaction', [txHash, true]);
    } catch (err) {
      if (rpcErrorCode(err) === RPC_INVALID_ADDRESS_OR_KEY) return { state: 'dropped' };
      throw err;
    }
    if (tx.blockhash && (tx.confirmations ?? 0) > 0) {
      const header = await this.transport.call<{ height: number; hash: string; confirmations: number }>('getblockheader', [tx.blockhash, true]);
      if (header.confirmations > 0) return { state: 'confirmed', blockHeight: header.height, blockHash: header.hash };
    }
    if (!tx.blockhash) return { state: 'pending' };
    // Known only from a block that left the active chain: it waits in the mempool again unless
    // a conflicting transaction took its place.
    try {
      await this.transport.call('getmempoolentry', [txHash]);
      return { state: 'pending' };
    } catch (err) {
      if (rpcErrorCode(err) === RPC_INVALID_ADDRESS_OR_KEY) return { state: 'dropped' };
      throw err;
    }
  }

  /**
   * Called before every lookup through the transaction index (statuses, senders); asks the node
   * once, then remembers a synced index. Idempotent.
   */
  async requireTxindex(): Promise<void> {
    if (this.txindexChecked) return;
    let info: Record<string, { synced: boolean }>;
    try {
      info = await this.transport.call<Record<string, { synced: boolean }>>('getindexinfo', ['txindex']);
    } catch (err) {
      // Nodes before 0.21 cannot tell; trust their configuration.
      if (rpcErrorCode(err) === RPC_METHOD_NOT_FOUND) {
        this.txindexChecked = true;
        return;
      }
      throw err;
    }
    if (!info.txindex) throw new ChainError(`the ${this.network.id} node runs without -txindex=1; transaction status needs it`, false);
    if (!info.txindex.synced) throw new ChainError(`the ${this.network.id} node is still building its transaction index`, true);
    this.txindexChecked = true;
  }
}
