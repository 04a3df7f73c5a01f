import { type CoinConfig, ChainError, type NetworkConfig, type RpcTransport } from '@cpg/chains';
import { getBalances } from '@cpg/chains/balance';
import { coinsToSats } from '@cpg/chains/bitcoin/amount';
import { RPC_INVALID_PARAMETER, rpcErrorCode } from '@cpg/chains/bitcoin/rpc';
import { BitcoinSigner } from '@cpg/chains/bitcoin/signer';
import { EvmSigner } from '@cpg/chains/evm/signer';
import { tronBase58ToHex } from '@cpg/chains/tron/address';
import {
  chainParameter,
  isMissingPath,
  throwIfNodeError,
  type TronAccountResourceJson,
  type TronBlockJson,
  type TronChainParametersJson,
  type TronTxInfoJson,
} from '@cpg/chains/tron/protocol';
import { DEFAULT_TOKEN_ENERGY, TronSigner } from '@cpg/chains/tron/signer';
import type { BitcoinFeeEstimate, EvmFeeEstimate, TronAccountState, TronFeeEstimate, Utxo } from './domain/planner';

/**
 * Bandwidth of a signed USDT transfer and of a signed TRX transfer or (un)delegation, as the
 * recorded mainnet receipts show (345 and 266 bytes); a little over, so estimates are upper bounds.
 */
const TRON_TOKEN_TRANSFER_BYTES = 350n;
const TRON_SYSTEM_TX_BYTES = 280n;

/** What the chain says about one of our transactions. */
export type TxState =
  | { state: 'unknown' }
  | { state: 'pending' }
  /** `fee`: what the mined transaction paid, when the chain says (EVM: gasUsed x effectiveGasPrice). */
  | { state: 'mined'; confirmations: number; ok: boolean; fee?: bigint };

/**
 * The collector's read and broadcast face of one network (no keys: signing is the signer's).
 * Every method may throw ChainError; the loop retries on its next pass.
 */
export class CollectorChain {
  private readonly evm?: EvmSigner;
  private readonly btc?: BitcoinSigner;
  private readonly tron?: TronSigner;

  constructor(
    readonly network: NetworkConfig,
    readonly transport: RpcTransport,
    private readonly opts: { tokenTransferGas?: bigint; topUpMarginPercent?: bigint } = {},
  ) {
    if (network.family === 'EVM') this.evm = new EvmSigner(network, transport);
    else if (network.family === 'BITCOIN') this.btc = new BitcoinSigner(network, transport);
    else if (network.family === 'TRON') this.tron = new TronSigner(network, transport);
  }

  private async tronPost<T>(path: string, body: unknown): Promise<T> {
    const json = await this.transport.post<T>(path, body);
    throwIfNodeError(path, json);
    if (json === null || typeof json !== 'object') throw new ChainError(`${path}: unexpected answer ${JSON.stringify(json)}`, true);
    return json;
  }

  /** Tron: whether each account exists, the energy it can use now and its free bandwidth left today. */
  async tronAccounts(addresses: string[]): Promise<TronAccountState[]> {
    return Promise.all(
      addresses.map(async (a) => {
        const hex = tronBase58ToHex(a);
        const account = await this.tronPost<{ address?: string }>('/wallet/getaccount', { address: hex, visible: false });
        if (!account.address) return { activated: false, energyLeft: 0n, freeNetLeft: 0n };
        const r = await this.tronPost<TronAccountResourceJson>('/wallet/getaccountresource', { address: hex, visible: false });
        return {
          activated: true,
          energyLeft: BigInt(Math.max(0, (r.EnergyLimit ?? 0) - (r.EnergyUsed ?? 0))),
          freeNetLeft: BigInt(Math.max(0, (r.freeNetLimit ?? 0) - (r.freeNetUsed ?? 0))),
        };
      }),
    );
  }

  /** Tron: prices and resource sizes for planning, with what `funder` can delegate for energy now. */
  async tronFees(funder: string): Promise<TronFeeEstimate> {
    const hex = tronBase58ToHex(funder);
    const [params, max, res] = await Promise.all([
      this.tronPost<TronChainParametersJson>('/wallet/getchainparameters', {}),
      // type 1: ENERGY. max_size (sun) is omitted when 0; a node without the call delegates nothing.
      this.tronPost<{ max_size?: number }>('/wallet/getcandelegatedmaxsize', { owner_address: hex, type: 1, visible: false }).catch((err: unknown) => {
        if (isMissingPath(err)) return { max_size: 0 };
        throw err;
      }),
      this.tronPost<TronAccountResourceJson>('/wallet/getaccountresource', { address: hex, visible: false }),
    ]);
    const p = (key: string, dflt: number) => BigInt(chainParameter(params, key) ?? dflt);
    const limit = BigInt(res.TotalEnergyLimit ?? 0);
    const weight = BigInt(res.TotalEnergyWeight ?? 0);
    return {
      energyFee: p('getEnergyFee', 100),
      bandwidthFee: p('getTransactionFee', 1_000),
      tokenTransferEnergy: BigInt(DEFAULT_TOKEN_ENERGY.newHolder),
      tokenTransferBytes: TRON_TOKEN_TRANSFER_BYTES,
      systemTxBytes: TRON_SYSTEM_TX_BYTES,
      activationFee: p('getCreateNewAccountFeeInSystemContract', 1_000_000) + p('getCreateAccountFee', 100_000),
      freeNetPerDay: p('getFreeNetLimit', 600),
      topUpMarginPercent: this.opts.topUpMarginPercent ?? 20n,
      // Without the network totals the energy a stake gives is unknown: delegate nothing.
      delegatableSun: limit > 0n && weight > 0n ? BigInt(max.max_size ?? 0) : 0n,
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
    const fees = await this.evm!.fees();
    return {
      maxFeePerGas: fees.maxFeePerGas,
      // A token transfer to a fresh holder writes a new balance slot: ~52k gas; 70k leaves room.
      tokenTransferGas: this.opts.tokenTransferGas ?? 70_000n,
      nativeTransferGas: 21_000n,
      topUpMarginPercent: this.opts.topUpMarginPercent ?? 20n,
    };
  }

  async bitcoinFees(): Promise<BitcoinFeeEstimate> {
    const satPerKvB = await this.btc!.feeRate();
    // Bitcoin Core's P2WPKH dust limit at its dust relay fee (3 sat/vB; Litecoin 30).
    return { satPerKvB, dustThreshold: this.network.uriScheme === 'litecoin' ? 2940n : 294n };
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
    const tx = { txHash, raw, fee: { fee: 0n, detail: {} } };
    if (this.evm) await this.evm.broadcast(tx);
    else if (this.btc) await this.btc.broadcast(tx);
    else if (this.tron) await this.tron.broadcast(tx);
    else throw new Error(`broadcast on ${this.network.family} is not supported by the collector yet`);
  }
}
