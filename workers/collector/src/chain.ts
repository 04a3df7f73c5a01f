import { type CoinConfig, ChainError, type NetworkConfig, type RpcTransport } from '@cpg/chains';
import { getBalances } from '@cpg/chains/balance';
import { coinsToSats } from '@cpg/chains/bitcoin/amount';
import { broadcastBitcoinTransaction } from '@cpg/chains/bitcoin/broadcast';
import { estimateFeeRate, p2wpkhDustThreshold } from '@cpg/chains/bitcoin/fees';
import { RPC_INVALID_PARAMETER, rpcErrorCode } from '@cpg/chains/bitcoin/rpc';
import { broadcastEvmTransaction } from '@cpg/chains/evm/broadcast';
import { NATIVE_TRANSFER_GAS, TOKEN_TRANSFER_GAS, readEvmFees } from '@cpg/chains/evm/fees';
import { tronBase58ToHex } from '@cpg/chains/tron/address';
import { broadcastTronTransaction } from '@cpg/chains/tron/broadcast';
import {
  DEFAULT_TOKEN_ENERGY,
  SYSTEM_TX_BYTES,
  TOKEN_TRANSFER_BYTES,
  readDelegatableEnergySun,
  readTronPrices,
  readTronResources,
  tronAccountExists,
} from '@cpg/chains/tron/fees';
import { type TronBlockJson, type TronTxInfoJson, tronPost } from '@cpg/chains/tron/protocol';
import type { BitcoinFeeEstimate, EvmFeeEstimate, TronAccountState, TronFeeEstimate, Utxo } from './domain/planner-types';

/** What the chain says about one of our transactions. */
export type TxState =
  | { state: 'unknown' }
  | { state: 'pending' }
  /** `fee`: what the mined transaction paid, when the chain says (EVM: gasUsed x effectiveGasPrice). */
  | { state: 'mined'; confirmations: number; ok: boolean; fee?: bigint };

/**
 * The collector's read and broadcast face of one network (no keys: signing is the signer's).
 * Fees come from the chain layer's per-family estimators, as the signer's do. Every method may
 * throw ChainError; the loop retries on its next pass.
 */
export class CollectorChain {
  constructor(
    readonly network: NetworkConfig,
    readonly transport: RpcTransport,
    private readonly opts: { tokenTransferGas?: bigint; topUpMarginPercent?: bigint } = {},
  ) {}

  private tronPost<T>(path: string, body: unknown): Promise<T> {
    return tronPost<T>(this.transport, path, body);
  }

  /** Tron: whether each account exists, the energy it can use now and its free bandwidth left today. */
  async tronAccounts(addresses: string[]): Promise<TronAccountState[]> {
    return Promise.all(
      addresses.map(async (a) => {
        const hex = tronBase58ToHex(a);
        if (!(await tronAccountExists(this.transport, hex))) return { activated: false, energyLeft: 0n, freeNetLeft: 0n };
        const r = await readTronResources(this.transport, hex);
        return { activated: true, energyLeft: BigInt(r.energy), freeNetLeft: BigInt(r.freeNet) };
      }),
    );
  }

  /** Tron: prices and resource sizes for planning, with what `funder` can delegate for energy now. */
  async tronFees(funder: string): Promise<TronFeeEstimate> {
    const hex = tronBase58ToHex(funder);
    const [prices, delegatable, res] = await Promise.all([
      readTronPrices(this.transport),
      readDelegatableEnergySun(this.transport, hex),
      readTronResources(this.transport, hex),
    ]);
    const limit = BigInt(res.totalEnergyLimit);
    const weight = BigInt(res.totalEnergyWeight);
    return {
      energyFee: BigInt(prices.energyFee),
      bandwidthFee: BigInt(prices.txFee),
      tokenTransferEnergy: BigInt(DEFAULT_TOKEN_ENERGY.newHolder),
      tokenTransferBytes: TOKEN_TRANSFER_BYTES,
      systemTxBytes: SYSTEM_TX_BYTES,
      activationFee: BigInt(prices.newAccountFee) + BigInt(prices.createAccountFee),
      freeNetPerDay: BigInt(prices.freeNetPerDay),
      topUpMarginPercent: this.opts.topUpMarginPercent ?? 20n,
      // Without the network totals the energy a stake gives is unknown: delegate nothing.
      delegatableSun: limit > 0n && weight > 0n ? delegatable : 0n,
      energyPerTrx: { numerator: limit > 0n ? limit : 1n, denominator: weight > 0n ? weight : 1n },
    };
  }

  balances(addresses: string[], coin: CoinConfig): Promise<bigint[]> {
    return getBalances(this.network, this.transport, addresses, coin);
  }

  /**
   * What is final: EVM balances at tip - confirmations + 1 (a deposit a reorg may still take
   * away is not swept); Bitcoin family from utxos(), which keeps only deep enough outputs.
   */
  async finalBalances(addresses: string[], coin: CoinConfig): Promise<bigint[]> {
    if (this.network.family !== 'EVM' || this.network.confirmations <= 1) return this.balances(addresses, coin);
    const tip = Number(await this.transport.call<string>('eth_blockNumber'));
    return getBalances(this.network, this.transport, addresses, coin, { atBlock: Math.max(0, tip - this.network.confirmations + 1) });
  }

  /** Bitcoin family: confirmed unspent outputs per address (one scan for all of them). */
  async utxos(addresses: string[]): Promise<Map<string, Utxo[]>> {
    const out = new Map<string, Utxo[]>(addresses.map((a) => [a, []]));
    if (addresses.length === 0) return out;
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.transport.call<{
          success: boolean;
          height: number;
          unspents: { txid: string; vout: number; desc: string; amount: number; height: number }[];
        }>('scantxoutset', ['start', addresses.map((a) => `addr(${a})`)]);
        if (!res.success) throw new ChainError('scantxoutset did not complete', true);
        // Only outputs at the network's confirmations count (scantxoutset reads the chain tip).
        const deepest = res.height - Math.max(1, this.network.confirmations) + 1;
        for (const u of res.unspents) {
          if (u.height > deepest) continue;
          const m = /^addr\(([^)]+)\)/.exec(u.desc);
          const key = m ? addresses.find((a) => a.toLowerCase() === m[1]!.toLowerCase()) : undefined;
          if (key !== undefined) out.get(key)!.push({ txid: u.txid, vout: u.vout, value: coinsToSats(u.amount) });
        }
        return out;
      } catch (err) {
        if (rpcErrorCode(err) === RPC_INVALID_PARAMETER && /in progress/i.test((err as Error).message) && attempt < 40) {
          await new Promise((r) => setTimeout(r, 250));
          continue;
        }
        throw err;
      }
    }
  }

  async evmFees(): Promise<EvmFeeEstimate> {
    const fees = await readEvmFees(this.network, this.transport);
    return {
      maxFeePerGas: fees.maxFeePerGas,
      tokenTransferGas: this.opts.tokenTransferGas ?? TOKEN_TRANSFER_GAS,
      nativeTransferGas: NATIVE_TRANSFER_GAS,
      topUpMarginPercent: this.opts.topUpMarginPercent ?? 20n,
    };
  }

  async bitcoinFees(): Promise<BitcoinFeeEstimate> {
    // The node's dust limit for a P2WPKH output at its dust relay fee (3 sat/vB; Litecoin 30).
    return { satPerKvB: await estimateFeeRate(this.transport), dustThreshold: p2wpkhDustThreshold(this.network) };
  }

  async txState(txHash: string): Promise<TxState> {
    if (this.network.family === 'EVM') {
      const receipt = await this.transport.call<{ blockNumber?: string; status?: string; gasUsed?: string; effectiveGasPrice?: string } | null>(
        'eth_getTransactionReceipt',
        [txHash],
      );
      if (receipt?.blockNumber) {
        const tip = Number(await this.transport.call<string>('eth_blockNumber'));
        const fee = receipt.gasUsed && receipt.effectiveGasPrice ? BigInt(receipt.gasUsed) * BigInt(receipt.effectiveGasPrice) : undefined;
        return { state: 'mined', confirmations: tip - Number(receipt.blockNumber) + 1, ok: receipt.status === '0x1', fee };
      }
      const tx = await this.transport.call<unknown>('eth_getTransactionByHash', [txHash]);
      return tx ? { state: 'pending' } : { state: 'unknown' };
    }
    if (this.network.family === 'TRON') {
      const info = await this.tronPost<TronTxInfoJson>('/wallet/gettransactioninfobyid', { value: txHash });
      if (info.id) {
        const head = await this.tronPost<TronBlockJson>('/wallet/getnowblock', {});
        const tip = head.block_header?.raw_data.number ?? 0;
        return { state: 'mined', confirmations: tip - (info.blockNumber ?? 0) + 1, ok: info.result !== 'FAILED', fee: BigInt(info.fee ?? 0) };
      }
      const pending = await this.tronPost<{ txID?: string }>('/wallet/gettransactionfrompending', { value: txHash });
      return pending.txID ? { state: 'pending' } : { state: 'unknown' };
    }
    try {
      const tx = await this.transport.call<{ confirmations?: number }>('getrawtransaction', [txHash, true]);
      return tx.confirmations && tx.confirmations > 0 ? { state: 'mined', confirmations: tx.confirmations, ok: true } : { state: 'pending' };
    } catch (err) {
      // -5: no such transaction in the mempool or (with -txindex) the chain.
      if (rpcErrorCode(err) === -5) return { state: 'unknown' };
      throw err;
    }
  }

  /** Idempotent: a transaction the node already knows counts as sent. */
  async broadcast(txHash: string, raw: string): Promise<void> {
    const tx = { txHash, raw };
    if (this.network.family === 'EVM') await broadcastEvmTransaction(this.network, this.transport, tx);
    else if (this.network.family === 'BITCOIN') await broadcastBitcoinTransaction(this.transport, tx);
    else if (this.network.family === 'TRON') await broadcastTronTransaction(this.transport, tx);
    else throw new Error(`broadcast on ${this.network.family} is not supported by the collector yet`);
  }
}
