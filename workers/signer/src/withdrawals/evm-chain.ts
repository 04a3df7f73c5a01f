import type { NetworkConfig, RpcTransport, SigningKey, TransferOrder } from '@cpg/chains';
import { checkAddress } from '@cpg/chains/evm/address';
import { NonceManager } from '@cpg/chains/evm/nonces';
import type { RawReceipt } from '@cpg/chains/evm/raw';
import { buildEvmReplacement } from '@cpg/chains/evm/replace';
import { EvmSigner, ERC20 } from '@cpg/chains/signers';
import {
  type Funds,
  type HotWallet,
  type OutgoingStatus,
  PayoutRefused,
  type PayoutChain,
  type SignedPayout,
  type StoredTx,
  broadcastStored,
  confirmationsAt,
  signedPayout,
} from './chains';
import { type Short, fundHint } from './shortfall';

/** A NonceManager that hands out the nonce the processor chose under the wallet's row lock. */
class GivenNonce extends NonceManager {
  constructor(
    transport: RpcTransport,
    private readonly given: number,
  ) {
    super(transport);
  }

  override async withNonce<T>(_address: string, use: (nonce: number) => Promise<T>): Promise<T> {
    return use(this.given);
  }
}

export class EvmPayoutChain implements PayoutChain {
  readonly usesNonce = true;

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
    private readonly opts: { maxBatchSize?: number } = {},
  ) {}

  signerWith(batchContract: string | null, nonce?: number): EvmSigner {
    return new EvmSigner(this.network, this.transport, {
      ...(batchContract ? { batchContract } : {}),
      ...(nonce !== undefined ? { nonces: new GivenNonce(this.transport, nonce) } : {}),
      ...(this.opts.maxBatchSize ? { maxBatchSize: this.opts.maxBatchSize } : {}),
    });
  }

  private coin(coinId: string) {
    const coin = this.network.coins.find((c) => c.id === coinId);
    if (!coin) throw new PayoutRefused(`${coinId} is not a coin of ${this.network.id}`);
    return coin;
  }

  validate(orders: TransferOrder[]): void {
    const coinId = orders[0]!.coinId;
    this.coin(coinId);
    if (orders.some((o) => o.coinId !== coinId)) throw new PayoutRefused('a batch pays one coin');
    if (orders.length > (this.opts.maxBatchSize ?? 200))
      throw new PayoutRefused(`${orders.length} payouts exceed the batch limit of ${this.opts.maxBatchSize ?? 200}`);
    for (const [i, o] of orders.entries()) {
      const check = checkAddress(o.to);
      if (!check.ok) throw new PayoutRefused(`payout ${i}: ${JSON.stringify(o.to)} is not an address on ${this.network.id}: ${check.reason}`);
      if (o.amount <= 0n) throw new PayoutRefused(`payout ${i}: the amount must be above zero`);
    }
  }

  private async nativeBalance(address: string): Promise<bigint> {
    return BigInt(await this.transport.call<string>('eth_getBalance', [address, 'latest']));
  }

  private async tokenBalance(address: string, token: string): Promise<bigint> {
    return BigInt(await this.transport.call<string>('eth_call', [{ to: token, data: ERC20.encodeFunctionData('balanceOf', [address]) }, 'latest']));
  }

  async needsApproval(wallet: HotWallet, orders: TransferOrder[], batchContract: string | null): Promise<boolean> {
    const coin = this.coin(orders[0]!.coinId);
    if (!coin.contract || orders.length < 2 || !batchContract) return false;
    const total = orders.reduce((s, o) => s + o.amount, 0n);
    return (await this.signerWith(batchContract).allowance(wallet.address, coin.contract)) < total;
  }

  async checkFunds(wallet: HotWallet, orders: TransferOrder[], batchContract: string | null): Promise<Funds> {
    const coin = this.coin(orders[0]!.coinId);
    const total = orders.reduce((s, o) => s + o.amount, 0n);
    const signer = this.signerWith(batchContract);
    const [native, quote, fees] = await Promise.all([this.nativeBalance(wallet.address), signer.estimateFee(wallet.address, orders), signer.fees()]);
    let gasNeed = quote.fee;
    const missing: string[] = [];
    const shorts: Short[] = [];
    const nativeCoin = this.network.nativeCoin;
    if (coin.contract) {
      const tokens = await this.tokenBalance(wallet.address, coin.contract);
      if (tokens < total) missing.push(`${tokens} of the ${total} base units of ${coin.id} it pays`);
      shorts.push({ coin, missing: total - tokens, purpose: 'to pay' });
      // The one-time approve of the batch contract costs gas too (about 46k; 80k with headroom).
      if (await this.needsApproval(wallet, orders, batchContract)) gasNeed += 80_000n * fees.maxFeePerGas;
      if (native < gasNeed) missing.push(`${native} of the ${gasNeed} base units of ${nativeCoin.id} needed for gas`);
      shorts.push({ coin: nativeCoin, missing: gasNeed - native, purpose: 'for gas' });
    } else if (native < total + gasNeed) {
      missing.push(`${native} of the ${total} base units of ${coin.id} it pays plus up to ${gasNeed} for gas`);
      shorts.push({ coin: nativeCoin, missing: total + gasNeed - native, purpose: 'to pay and for gas' });
    }
    if (!missing.length) return { ok: true };
    return { ok: false, reason: `HOT wallet ${wallet.address} has ${missing.join(', and ')}${fundHint(wallet.address, shorts)}` };
  }

  async pendingNonce(address: string): Promise<number> {
    return Number(await this.transport.call<string>('eth_getTransactionCount', [address, 'pending']));
  }

  async signApproval(key: SigningKey, coinId: string, batchContract: string, nonce: number): Promise<SignedPayout> {
    const tx = await this.signerWith(batchContract, nonce).signApproval(key, coinId);
    return signedPayout(tx, nonce);
  }

  async sign(key: SigningKey, orders: TransferOrder[], batchContract: string | null, nonce: number | null): Promise<SignedPayout> {
    if (nonce === null) throw new Error('EVM signing needs a nonce');
    const tx = await this.signerWith(batchContract, nonce).sign(key, orders);
    return signedPayout(tx, nonce);
  }

  async broadcast(tx: { txHash: string; raw: string; fee: bigint }): Promise<void> {
    await broadcastStored(this.signerWith(null), tx);
  }

  async status(tx: StoredTx): Promise<OutgoingStatus> {
    const receipt = await this.transport.call<RawReceipt | null>('eth_getTransactionReceipt', [tx.txHash]);
    if (receipt?.blockHash) {
      const tip = Number(await this.transport.call<string>('eth_blockNumber'));
      const height = Number(receipt.blockNumber);
      const price = receipt.effectiveGasPrice ? BigInt(receipt.effectiveGasPrice) : 0n;
      return {
        state: 'confirmed',
        blockHeight: height,
        confirmations: confirmationsAt(tip, height),
        success: receipt.status === '0x1',
        fee: BigInt(receipt.gasUsed) * price,
      };
    }
    const known = await this.transport.call<unknown>('eth_getTransactionByHash', [tx.txHash]);
    return { state: known ? 'pending' : 'dropped' };
  }

  async bump(key: SigningKey, tx: StoredTx, percent: number): Promise<SignedPayout | null> {
    const fees = await this.signerWith(null).fees();
    return buildEvmReplacement(key, tx, fees, percent);
  }
}
