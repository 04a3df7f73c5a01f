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
import { TRC20_TRANSFER_TOPIC, exactSun, isMissingPath, throwIfNodeError, type TronBlockJson, type TronTransactionJson, type TronTxInfoJson } from './protocol';

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

/** The pooled transport's fan-out (shared/chains/rpc), used when present. */
type FanOutTransport = RpcTransport & { postAll?: (path: string, body: unknown) => Promise<{ ok: boolean; result?: unknown }[]> };

const CONTRACT_CALL_TYPES = new Set(['TriggerSmartContract', 'CreateSmartContract']);
const HASH64 = /^[0-9a-fA-F]{64}$/;

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
    const fanOut = (this.transport as FanOutTransport).postAll;
    let block: TronBlockJson | undefined;
    if (typeof fanOut === 'function') {
      const answers = await fanOut.call(this.transport, '/wallet/getnowblock', {});
      for (const a of answers) {
        const b = a.ok ? (a.result as TronBlockJson | null) : null;
        if (!b?.blockID || !b.block_header) continue;
        if (!block || (b.block_header.raw_data.number ?? 0) > (block.block_header!.raw_data.number ?? 0)) block = b;
      }
    } else {
      block = await this.post<TronBlockJson>('/wallet/getnowblock', {});
    }
    if (!block?.blockID || !block.block_header) throw new ChainError('getnowblock returned no block (node starting?)', true);
    const height = block.block_header.raw_data.number ?? 0;
    this.remember(height, block);
    return height;
  }

  /** Called by the scan loop before reading a block; null when the node has no block there yet. Read-only, idempotent. */
  async getBlockRef(height: number): Promise<BlockRef | null> {
    const block = await this.fetchBlock(height);
    if (!block) return null;
    this.remember(height, block);
    return this.refOf(block, height);
  }

  /**
   * Called once per block the scan loop advances over. Read-only and idempotent: the same block
   * always yields the same transfers in the same order (block order, then log order).
   */
  async getBlockTransfers(height: number): Promise<BlockWithTransfers> {
    const block = this.takeRemembered(height) ?? (await this.fetchBlock(height));
    if (!block) throw new ChainError(`block ${height} is not available yet`, true);
    const ref = this.refOf(block, height);
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
   * Called for a transaction not yet seen in a block. Read-only, idempotent. 'confirmed' means
   * included in a block, even when its contract call failed (the fee was paid). 'dropped' reflects
   * one node's view (neither in a block nor in its pending pool): act on it only after the
   * transaction's raw_data.expiration has passed, when no node can include it any more.
   */
  async getTransactionStatus(txHash: string): Promise<{ state: 'pending' | 'dropped' } | { state: 'confirmed'; blockHeight: number; blockHash: string }> {
    if (!HASH64.test(txHash)) throw new Error(`not a Tron transaction id: ${JSON.stringify(txHash)}`);
    const info = await this.post<TronTxInfoJson>('/wallet/gettransactioninfobyid', { value: txHash.toLowerCase() });
    if (info.id && info.blockNumber !== undefined) {
      const ref = await this.getBlockRef(info.blockNumber);
      if (!ref) throw new ChainError(`block ${info.blockNumber} of ${txHash} is not served by the node`, true);
      return { state: 'confirmed', blockHeight: ref.height, blockHash: ref.hash };
    }
    try {
      const pending = await this.post<{ txID?: string }>('/wallet/gettransactionfrompending', { value: txHash.toLowerCase() });
      return { state: pending.txID ? 'pending' : 'dropped' };
    } catch (err) {
      // Without the pending-pool endpoint nothing can be said beyond "not in a block yet".
      if (isMissingPath(err)) return { state: 'pending' };
      throw err;
    }
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
        const res = await this.post<TronTxInfoJson[] | Record<string, never>>('/wallet/gettransactioninfobyblocknum', { num: height });
        list = Array.isArray(res) ? res : [];
      } catch (err) {
        if (!isMissingPath(err)) throw err;
        this.txInfoMode = 'tx';
        return this.txInfos(height, txs);
      }
    } else {
      list = await mapLimit(txs.filter(isContractCall), this.txInfoConcurrency, (tx) =>
        this.post<TronTxInfoJson>('/wallet/gettransactioninfobyid', { value: tx.txID }),
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

  private async fetchBlock(height: number): Promise<TronBlockJson | null> {
    if (!Number.isInteger(height) || height < 0) throw new Error(`invalid block height ${height}`);
    const block = await this.post<TronBlockJson>('/wallet/getblockbynum', { num: height });
    if (!block.blockID || !block.block_header) return null;
    return block;
  }

  private refOf(block: TronBlockJson, height: number): BlockRef {
    const raw = block.block_header!.raw_data;
    const number = raw.number ?? 0;
    if (number !== height) throw new ChainError(`asked for block ${height}, node answered block ${number}`, true);
    return { height, hash: block.blockID!, parentHash: raw.parentHash, timestamp: Math.floor((raw.timestamp ?? 0) / 1000) };
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

  private post<T>(path: string, body: unknown): Promise<T> {
    return this.transport.post<T>(path, body).then((json) => {
      throwIfNodeError(path, json);
      if (json === null || typeof json !== 'object') throw new ChainError(`${path}: unexpected answer ${JSON.stringify(json)}`, true);
      return json;
    });
  }
}

/** Receipts of transactions outside the block mean the node switched forks between the two reads. */
function forkSwitch(height: number): ChainError {
  return new ChainError(`receipts of block ${height} do not match its transactions (fork switch while reading)`, true);
}

function isContractCall(tx: TronTransactionJson): boolean {
  return CONTRACT_CALL_TYPES.has(tx.raw_data?.contract?.[0]?.type ?? '');
}
