import {
  ChainError,
  type BlockRef,
  type BlockWithTransfers,
  type ChainWatcher,
  type CoinConfig,
  type NetworkConfig,
  type RpcTransport,
  type Transfer,
} from '../types';
import { mapLimit } from '../concurrency';
import { tronBase58ToHex, tronBodyToBase58, tronHexToBase58 } from './address';
import { TRC20_TRANSFER_TOPIC, exactSun, isMissingPath, tronPost, type TronBlockJson, type TronTransactionJson, type TronTxInfoJson } from './protocol';
import { type TronTxStatus, tronBlockAt, tronBlockRef, tronHeadBlock, tronTransactionStatus } from './tx-status';

// Moved out so the signer reads transaction status without a watcher; re-exported for callers
// that imported them from here.
export { TronTxStatusReader, type TronTxStatus } from './tx-status';

export interface TronWatcherOptions {
  /**
   * How TRC-20 receipts are read. 'block' (default): one /wallet/gettransactioninfobyblocknum per
   * block. 'tx': one /wallet/gettransactioninfobyid per contract call, for nodes without the block
   * endpoint; the watcher also switches to it by itself when every endpoint answers 404 there.
   */
  txInfoMode?: 'block' | 'tx';
  /** Parallel gettransactioninfobyid calls in 'tx' mode. */
  txInfoConcurrency?: number;
}

const CONTRACT_CALL_TYPES = new Set(['TriggerSmartContract', 'CreateSmartContract']);

/**
 * Reads one Tron network through a full node's HTTP API. Credits TRX moved by top-level
 * TransferContract transactions (index 0) and TRC-20 Transfer events emitted by REGISTERED token
 * contracts (index = position of the log in the receipt), from successful transactions only.
 * TRX sent by contracts (internal transactions) and TRC-10 assets are not credited.
 */
export class TronWatcher implements ChainWatcher {
  private readonly tokens = new Map<string, CoinConfig>();
  private txInfoMode: 'block' | 'tx';
  private readonly txInfoConcurrency: number;
  // The scan loop asks getBlockRef(h) and then getBlockTransfers(h); keeping the block fetched for
  // the first call saves a second download of a block that can be hundreds of kilobytes, and makes
  // the transfers come from exactly the block whose parent hash the loop just checked.
  private lastBlock: { height: number; block: TronBlockJson; at: number } | null = null;

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
    opts: TronWatcherOptions = {},
  ) {
    if (network.family !== 'TRON') throw new Error(`TronWatcher given ${network.family} network ${network.id}`);
    for (const coin of network.coins) {
      if (coin.contract) this.tokens.set(tronBase58ToHex(coin.contract).slice(2), coin);
    }
    this.txInfoMode = opts.txInfoMode ?? 'block';
    this.txInfoConcurrency = Math.max(1, opts.txInfoConcurrency ?? 8);
  }

  /**
   * Called every poll. Read-only, idempotent. With a pooled transport every endpoint is asked and
   * the highest head wins, so one lagging node does not hold the tracker back.
   */
  async getTipHeight(): Promise<number> {
    const { height, block } = await tronHeadBlock(this.transport);
    this.remember(height, block);
    return height;
  }

  /** Called by the scan loop before reading a block; null when the node has no block there yet. Read-only, idempotent. */
  async getBlockRef(height: number): Promise<BlockRef | null> {
    const block = await tronBlockAt(this.transport, height);
    if (!block) return null;
    this.remember(height, block);
    return tronBlockRef(block, height);
  }

  /**
   * Called once per block the scan loop advances over. Read-only and idempotent: the same block
   * always yields the same transfers in the same order (block order, then log order).
   */
  async getBlockTransfers(height: number): Promise<BlockWithTransfers> {
    const block = this.takeRemembered(height) ?? (await tronBlockAt(this.transport, height));
    if (!block) throw new ChainError(`block ${height} is not available yet`, true);
    const ref = tronBlockRef(block, height);
    const txs = block.transactions ?? [];
    const infos = this.tokens.size > 0 && txs.some(isContractCall) ? await this.txInfos(height, txs) : new Map<string, TronTxInfoJson>();
    const transfers: Transfer[] = [];
    for (const tx of txs) {
      const contract = tx.raw_data?.contract?.[0];
      if (!contract) continue;
      const contractRet = tx.ret?.[0]?.contractRet;
      if (contract.type === 'TransferContract') {
        if (contractRet !== 'SUCCESS') continue;
        const v = contract.parameter.value as { owner_address?: string; to_address?: string; amount?: unknown };
        const amount = exactSun(v.amount, tx.raw_data_hex);
        if (!amount || amount <= 0n || !v.to_address || !v.owner_address) continue;
        transfers.push({
          network: this.network.id,
          txHash: tx.txID,
          index: 0,
          from: tronHexToBase58(v.owner_address),
          to: tronHexToBase58(v.to_address),
          coinId: this.network.nativeCoin.id,
          amount,
          blockHeight: ref.height,
          blockHash: ref.hash,
        });
        continue;
      }
      const info = infos.get(tx.txID);
      if (!info) continue;
      // A contract call whose execution failed leaves logs out of its receipt, but both
      // markers are checked so that a receipt carrying logs and a failure is never credited.
      if (info.result === 'FAILED' || info.receipt?.result !== 'SUCCESS') continue;
      if (contractRet !== undefined && contractRet !== 'SUCCESS') continue;
      (info.log ?? []).forEach((log, index) => {
        const t = this.tokenTransfer(tx.txID, index, log, ref);
        if (t) transfers.push(t);
      });
    }
    return { ...ref, transfers };
  }

  /**
   * Called on every poll; read-only and idempotent. Tron returns []: blocks come every 3 s and a node's pending pool holds only what reached that
   * node, so it is neither complete nor meaningfully earlier than the next block. Crediting waits
   * for blocks.
   */
  async getMempoolTransfers(): Promise<Transfer[]> {
    return [];
  }

  /**
   * Called for a transaction not yet seen in a block; see tronTransactionStatus. The including
   * block is read through getBlockRef, so a scan that follows reuses it. Read-only, idempotent.
   */
  async getTransactionStatus(txHash: string): Promise<TronTxStatus> {
    return tronTransactionStatus(this.transport, txHash, (height) => this.getBlockRef(height));
  }

  private tokenTransfer(txHash: string, index: number, log: { address: string; topics?: string[]; data?: string }, ref: BlockRef): Transfer | null {
    const address = log.address.toLowerCase();
    const body = address.length === 42 && address.startsWith('41') ? address.slice(2) : address;
    const coin = this.tokens.get(body);
    if (!coin) return null;
    const topics = log.topics;
    // Three topics exactly: an ERC-721-style Transfer indexes the value as a 4th topic.
    if (!topics || topics.length !== 3 || topics[0]!.toLowerCase() !== TRC20_TRANSFER_TOPIC) return null;
    const data = log.data ?? '';
    if (!/^[0-9a-fA-F]{64}$/.test(data)) return null;
    const amount = BigInt(`0x${data}`);
    if (amount === 0n) return null;
    return {
      network: this.network.id,
      txHash,
      index,
      from: tronBodyToBase58(topics[1]!.slice(-40)),
      to: tronBodyToBase58(topics[2]!.slice(-40)),
      coinId: coin.id,
      amount,
      blockHeight: ref.height,
      blockHash: ref.hash,
    };
  }

  private async txInfos(height: number, txs: TronTransactionJson[]): Promise<Map<string, TronTxInfoJson>> {
    let list: TronTxInfoJson[];
    if (this.txInfoMode === 'block') {
      try {
        const res = await tronPost<TronTxInfoJson[] | Record<string, never>>(this.transport, '/wallet/gettransactioninfobyblocknum', { num: height });
        list = Array.isArray(res) ? res : [];
      } catch (err) {
        if (!isMissingPath(err)) throw err;
        this.txInfoMode = 'tx';
        return this.txInfos(height, txs);
      }
    } else {
      list = await mapLimit(txs.filter(isContractCall), this.txInfoConcurrency, (tx) =>
        tronPost<TronTxInfoJson>(this.transport, '/wallet/gettransactioninfobyid', { value: tx.txID }),
      );
    }
    const byId = new Map<string, TronTxInfoJson>();
    for (const info of list) {
      if (!info.id) continue;
      if (info.blockNumber !== undefined && info.blockNumber !== height) throw forkSwitch(height);
      byId.set(info.id, info);
    }
    let matched = 0;
    for (const tx of txs) {
      if (byId.has(tx.txID)) matched++;
      // A missing receipt would silently drop a deposit; retry until the node has indexed them all.
      else if (isContractCall(tx)) throw new ChainError(`receipt of ${tx.txID} in block ${height} is not available yet`, true);
    }
    if (matched !== byId.size) throw forkSwitch(height);
    return byId;
  }

  private remember(height: number, block: TronBlockJson): void {
    this.lastBlock = { height, block, at: Date.now() };
  }

  private takeRemembered(height: number): TronBlockJson | null {
    const last = this.lastBlock;
    if (!last || last.height !== height || Date.now() - last.at > this.network.blockTimeSeconds * 1000) return null;
    this.lastBlock = null;
    return last.block;
  }
}

/** Receipts of transactions outside the block mean the node switched forks between the two reads. */
function forkSwitch(height: number): ChainError {
  return new ChainError(`receipts of block ${height} do not match its transactions (fork switch while reading)`, true);
}

function isContractCall(tx: TronTransactionJson): boolean {
  return CONTRACT_CALL_TYPES.has(tx.raw_data?.contract?.[0]?.type ?? '');
}
