import { ChainError, type BlockRef, type BlockWithTransfers, type ChainWatcher, type NetworkConfig, type RpcTransport, type Transfer } from '../types';
import { AmountFormatError, coinsToSats } from './amount';
import { mapLimit } from '../concurrency';
import { RPC_INVALID_ADDRESS_OR_KEY, RPC_INVALID_PARAMETER, rpcErrorCode } from './rpc';
import type { RawBlock, RawScriptPubKey, RawTransaction } from './raw';
import { BitcoinTxStatusReader, type BitcoinTxStatus } from './tx-status';

// Moved out so the signer reads transaction status without a watcher; re-exported for callers
// that imported them from here.
export type { RawBlock, RawScriptPubKey, RawTransaction, RawVin, RawVout } from './raw';
export { BitcoinTxStatusReader, type BitcoinTxStatus } from './tx-status';

const GENESIS_PARENT = '0'.repeat(64);
const MEMPOOL_FETCH_CONCURRENCY = 8;

function addressOf(spk: RawScriptPubKey): string | null {
  if (spk.address) return spk.address;
  // Old Core lists bare multisig owners here, and a P2PK output's key as if it were P2PKH.
  // Neither is a payment to one address, and newer Core omits both, so the same block gives
  // the same transfers whichever node version answered.
  if (spk.type === 'pubkey' || spk.type === 'multisig') return null;
  return spk.addresses && spk.addresses.length === 1 ? spk.addresses[0]! : null;
}

/**
 * One transfer per output that pays an address, in vout order. Coinbase outputs are left out:
 * they are spendable only after 100 blocks, far beyond any crediting depth, and deposit
 * addresses are never mining payouts. `from` stays null here: the payer needs a prevout lookup,
 * done by `senderOf` for the few transfers the tracker matches, not for every output of a block.
 */
export function transactionTransfers(network: NetworkConfig, tx: RawTransaction, blockHeight: number | null, blockHash: string | null): Transfer[] {
  if (tx.vin.length > 0 && tx.vin[0]!.coinbase !== undefined) return [];
  const out: Transfer[] = [];
  for (const vout of tx.vout) {
    if (vout.ismweb) continue;
    const to = addressOf(vout.scriptPubKey);
    if (to === null) continue;
    let amount: bigint;
    try {
      amount = coinsToSats(vout.value);
    } catch (err) {
      if (err instanceof AmountFormatError) throw new ChainError(`tx ${tx.txid} vout ${vout.n}: ${err.message}`, false, err);
      throw err;
    }
    if (amount === 0n) continue;
    out.push({ network: network.id, txHash: tx.txid, index: vout.n, from: null, to, coinId: network.nativeCoin.id, amount, blockHeight, blockHash });
  }
  return out;
}

/** A verbosity-2 `getblock` answer -> the normalised block; pure, so specs run it on recordings. */
export function blockTransfers(network: NetworkConfig, block: RawBlock): BlockWithTransfers {
  const transfers: Transfer[] = [];
  for (const tx of block.tx) {
    const t = transactionTransfers(network, tx, block.height, block.hash);
    for (let i = 0; i < t.length; i++) transfers.push(t[i]!);
  }
  return { height: block.height, hash: block.hash, parentHash: block.previousblockhash ?? GENESIS_PARENT, timestamp: block.time, transfers };
}

/**
 * Reads one Bitcoin-family network through Bitcoin Core's RPC. Needs `-txindex=1` on the node:
 * without it a confirmed transaction cannot be told apart from a dropped one.
 */
export class BitcoinWatcher implements ChainWatcher {
  /** Transfers of transactions seen in the mempool, so each is fetched once while it waits there. */
  private readonly mempoolCache = new Map<string, Transfer[]>();
  /** Also checks the network's parameters at construction. */
  private readonly txStatus: BitcoinTxStatusReader;

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
  ) {
    this.txStatus = new BitcoinTxStatusReader(network, transport);
  }

  /** Called every poll. Read-only, idempotent. */
  async getTipHeight(): Promise<number> {
    return this.txStatus.getTipHeight();
  }

  /** Called by the scan loop before reading a block; null above the tip. Read-only, idempotent. */
  async getBlockRef(height: number): Promise<BlockRef | null> {
    // Same guard as getBlockTransfers: never describe a block that left this height meanwhile.
    for (let attempt = 0; attempt < 3; attempt++) {
      const hash = await this.blockHashAt(height);
      if (hash === null) return null;
      const header = await this.transport.call<{ hash: string; height: number; previousblockhash?: string; time: number; confirmations: number }>(
        'getblockheader',
        [hash, true],
      );
      if (header.confirmations >= 0)
        return { height: header.height, hash: header.hash, parentHash: header.previousblockhash ?? GENESIS_PARENT, timestamp: header.time };
    }
    throw new ChainError(`block ${height} of ${this.network.id} kept changing while being read`, true);
  }

  /** Called once per block the scan loop advances over. Read-only, idempotent. */
  async getBlockTransfers(height: number): Promise<BlockWithTransfers> {
    // A reorg between `getblockhash` and `getblock` would hand back a block that is no longer at
    // this height; ask again rather than return a stale branch under the new height.
    for (let attempt = 0; attempt < 3; attempt++) {
      const hash = await this.blockHashAt(height);
      if (hash === null) throw new ChainError(`block ${height} is above the tip of ${this.network.id}`, true);
      const block = await this.transport.call<RawBlock>('getblock', [hash, 2]);
      if (block.confirmations === undefined || block.confirmations >= 0) return blockTransfers(this.network, block);
    }
    throw new ChainError(`block ${height} of ${this.network.id} kept changing while being read`, true);
  }

  /**
   * Called on every poll: transfers of unconfirmed transactions. Only transactions new to the
   * mempool are fetched; those that left it are forgotten. Read-only, idempotent.
   */
  async getMempoolTransfers(): Promise<Transfer[]> {
    const txids = await this.transport.call<string[]>('getrawmempool', [false]);
    const current = new Set(txids);
    for (const txid of this.mempoolCache.keys()) if (!current.has(txid)) this.mempoolCache.delete(txid);
    const unknown = txids.filter((txid) => !this.mempoolCache.has(txid));
    await mapLimit(unknown, MEMPOOL_FETCH_CONCURRENCY, async (txid) => {
      let tx: RawTransaction;
      try {
        tx = await this.transport.call<RawTransaction>('getrawtransaction', [txid, true]);
      } catch (err) {
        // Mined with its block not yet indexed, evicted or replaced since getrawmempool: the
        // next poll (or the block scan) sees where it went.
        if (rpcErrorCode(err) === RPC_INVALID_ADDRESS_OR_KEY) return;
        throw err;
      }
      this.mempoolCache.set(txid, transactionTransfers(this.network, tx, null, null));
    });
    const out: Transfer[] = [];
    for (const txid of txids) for (const t of this.mempoolCache.get(txid) ?? []) out.push(t);
    return out;
  }

  /**
   * Called for a mempool transfer that has not confirmed after a while; see
   * BitcoinTxStatusReader.getTransactionStatus. Read-only, idempotent.
   */
  async getTransactionStatus(txHash: string): Promise<BitcoinTxStatus> {
    return this.txStatus.getTransactionStatus(txHash);
  }

  /** See ChainWatcher.senderOf: two lookups through the transaction index. */
  async senderOf(txHash: string): Promise<string | null> {
    await this.txStatus.requireTxindex();
    const get = async (txid: string): Promise<RawTransaction | null> => {
      try {
        return await this.transport.call<RawTransaction>('getrawtransaction', [txid, true]);
      } catch (err) {
        if (rpcErrorCode(err) === RPC_INVALID_ADDRESS_OR_KEY) return null;
        throw err;
      }
    };
    const first = (await get(txHash))?.vin[0];
    if (!first || first.coinbase !== undefined || !first.txid || first.vout === undefined) return null;
    const funding = await get(first.txid);
    const spent = funding?.vout.find((o) => o.n === first.vout);
    return spent ? addressOf(spent.scriptPubKey) : null;
  }

  private async blockHashAt(height: number): Promise<string | null> {
    try {
      return await this.transport.call<string>('getblockhash', [height]);
    } catch (err) {
      if (rpcErrorCode(err) === RPC_INVALID_PARAMETER) return null;
      throw err;
    }
  }
}
