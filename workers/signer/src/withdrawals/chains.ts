import { ChainError, type NetworkConfig, type RpcTransport, type SigningKey, type TransferOrder } from '@cpg/chains';
import { BitcoinSigner, BitcoinSignerError } from '@cpg/chains/bitcoin/signer';
import { BitcoinWatcher } from '@cpg/chains/bitcoin/watcher';
import { checkAddress } from '@cpg/chains/evm/address';
import { EvmSigner, ERC20 } from '@cpg/chains/evm/signer';
import { NonceManager } from '@cpg/chains/evm/nonces';
import type { RawReceipt } from '@cpg/chains/evm/raw';
import { checkTronAddress, tronBase58ToHex } from '@cpg/chains/tron/address';
import type { TronTxInfoJson } from '@cpg/chains/tron/protocol';
import { TronSigner } from '@cpg/chains/tron/signer';
import { TronWatcher } from '@cpg/chains/tron/watcher';
import { bumpBitcoinReplacement, bumpEvmReplacement } from './replace';
import { type Short, fundHint } from './shortfall';

/**
 * One face per chain family for the withdrawal processor: funds check, sign, broadcast, status of
 * an outgoing transaction, fee bump by replacement. Keys arrive per call and are never kept.
 */

/** A refusal that retrying cannot fix (bad address, dust, unsupported network): the batch FAILS, nothing was spent. */
export class PayoutRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayoutRefused';
  }
}

export interface HotWallet {
  merchantId: string;
  keyId: string;
  address: string;
}

export type Funds = { ok: true } | { ok: false; reason: string };

export interface SignedPayout {
  txHash: string;
  raw: string;
  /** Fee at signing: exact for Bitcoin family, the gas-limit x max-fee upper bound for EVM. */
  fee: bigint;
  feeDetail: Record<string, string>;
  nonce: number | null;
}

export type OutgoingStatus =
  | { state: 'pending' | 'dropped' }
  /** `fee`: what the transaction actually paid (EVM: gasUsed x effectiveGasPrice); null when the signing fee is exact. */
  | { state: 'confirmed'; blockHeight: number; confirmations: number; success: boolean; fee: bigint | null };

export interface StoredTx {
  txHash: string;
  raw: string;
  fee: bigint;
  feeDetail: Record<string, string>;
  nonce: number | null;
}

export interface PayoutChain {
  readonly network: NetworkConfig;
  /** EVM: the wallet's nonce is counted by the processor (under the wallet lock). */
  readonly usesNonce: boolean;
  /** Pure checks of the orders (addresses, dust, batch size); throws PayoutRefused. */
  validate(orders: TransferOrder[]): void;
  /** Can the wallet pay the orders plus the fee (and, for a token batch, the one-time approval)? Read-only. */
  checkFunds(wallet: HotWallet, orders: TransferOrder[], batchContract: string | null): Promise<Funds>;
  /** EVM token batches: true when the batch contract may not yet move `total` of the token. Read-only. */
  needsApproval(wallet: HotWallet, orders: TransferOrder[], batchContract: string | null): Promise<boolean>;
  signApproval(key: SigningKey, coinId: string, batchContract: string, nonce: number): Promise<SignedPayout>;
  pendingNonce(address: string): Promise<number>;
  sign(key: SigningKey, orders: TransferOrder[], batchContract: string | null, nonce: number | null): Promise<SignedPayout>;
  /** Idempotent (a known or mined transaction counts as sent). ChainError.transient: unknown outcome. */
  broadcast(tx: { txHash: string; raw: string; fee: bigint }): Promise<void>;
  status(tx: StoredTx): Promise<OutgoingStatus>;
  /** A replacement of `tx` paying a higher fee (same nonce / same inputs); null when it cannot be bumped. */
  bump(key: SigningKey, tx: StoredTx, percent: number): Promise<SignedPayout | null>;
}

function refusedFrom(err: unknown): never {
  if (err instanceof BitcoinSignerError && err.code === 'BAD_USER_INPUT') throw new PayoutRefused(err.message);
  throw err;
}

export class BitcoinPayoutChain implements PayoutChain {
  readonly usesNonce = false;
  readonly signer: BitcoinSigner;
  private readonly watcher: BitcoinWatcher;

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
  ) {
    this.signer = new BitcoinSigner(network, transport);
    this.watcher = new BitcoinWatcher(network, transport);
  }

  validate(orders: TransferOrder[]): void {
    if (orders.some((o) => o.coinId !== this.network.nativeCoin.id)) throw new PayoutRefused(`${this.network.id} pays only ${this.network.nativeCoin.id}`);
  }

  async checkFunds(wallet: HotWallet, orders: TransferOrder[]): Promise<Funds> {
    const quote = await this.signer.estimateFee(wallet.address, orders).catch(refusedFrom);
    if (quote.detail.sufficientFunds !== 'false') return { ok: true };
    const utxos = await this.signer.spendableUtxos(wallet.address);
    const have = utxos.reduce((s, u) => s + u.value, 0n);
    const need = orders.reduce((s, o) => s + o.amount, 0n);
    const hint = fundHint(wallet.address, [{ coin: this.network.nativeCoin, missing: need + quote.fee - have, purpose: 'to pay and for the fee' }]);
    return {
      ok: false,
      reason: `HOT wallet ${wallet.address} has ${have} confirmed spendable base units of ${this.network.nativeCoin.id}; the batch needs ${need} plus a fee of about ${quote.fee}${hint}`,
    };
  }

  async needsApproval(): Promise<boolean> {
    return false;
  }

  signApproval(): Promise<SignedPayout> {
    throw new Error('Bitcoin family has no approvals');
  }

  pendingNonce(): Promise<number> {
    throw new Error('Bitcoin family has no nonces');
  }

  async sign(key: SigningKey, orders: TransferOrder[]): Promise<SignedPayout> {
    const signed = await this.signer.sign(key, orders).catch(refusedFrom);
    return { txHash: signed.txHash, raw: signed.raw, fee: signed.fee.fee, feeDetail: signed.fee.detail, nonce: null };
  }

  async broadcast(tx: { txHash: string; raw: string; fee: bigint }): Promise<void> {
    await this.signer.broadcast({ txHash: tx.txHash, raw: tx.raw, fee: { fee: tx.fee, detail: {} } });
  }

  async status(tx: StoredTx): Promise<OutgoingStatus> {
    const st = await this.watcher.getTransactionStatus(tx.txHash);
    if (st.state !== 'confirmed') return st;
    const tip = await this.watcher.getTipHeight();
    return { state: 'confirmed', blockHeight: st.blockHeight, confirmations: Math.max(0, tip - st.blockHeight + 1), success: true, fee: null };
  }

  async bump(key: SigningKey, tx: StoredTx, percent: number): Promise<SignedPayout | null> {
    return bumpBitcoinReplacement(this.network, this.transport, this.signer, key, tx, percent);
  }
}

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
    return { txHash: tx.txHash, raw: tx.raw, fee: tx.fee.fee, feeDetail: tx.fee.detail, nonce };
  }

  async sign(key: SigningKey, orders: TransferOrder[], batchContract: string | null, nonce: number | null): Promise<SignedPayout> {
    if (nonce === null) throw new Error('EVM signing needs a nonce');
    const tx = await this.signerWith(batchContract, nonce).sign(key, orders);
    return { txHash: tx.txHash, raw: tx.raw, fee: tx.fee.fee, feeDetail: tx.fee.detail, nonce };
  }

  async broadcast(tx: { txHash: string; raw: string; fee: bigint }): Promise<void> {
    await this.signerWith(null).broadcast({ txHash: tx.txHash, raw: tx.raw, fee: { fee: tx.fee, detail: {} } });
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
        confirmations: Math.max(0, tip - height + 1),
        success: receipt.status === '0x1',
        fee: BigInt(receipt.gasUsed) * price,
      };
    }
    const known = await this.transport.call<unknown>('eth_getTransactionByHash', [tx.txHash]);
    return { state: known ? 'pending' : 'dropped' };
  }

  async bump(key: SigningKey, tx: StoredTx, percent: number): Promise<SignedPayout | null> {
    const fees = await this.signerWith(null).fees();
    return bumpEvmReplacement(key, tx, fees, percent);
  }
}

export function isTransient(err: unknown): boolean {
  return !(err instanceof ChainError) || err.transient;
}

/**
 * Tron: a transaction carries one contract, so a batch must hold exactly one withdrawal (the
 * withdrawal subgraph sends Tron batches of one). There is no fee market to bump: a transaction
 * that is not mined expires (10 minutes), after which it can never be mined and the batch FAILS
 * with nothing spent.
 */
export class TronPayoutChain implements PayoutChain {
  readonly usesNonce = false;
  private readonly signer: TronSigner;
  private readonly watcher: TronWatcher;

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
  ) {
    this.signer = new TronSigner(network, transport);
    this.watcher = new TronWatcher(network, transport);
  }

  validate(orders: TransferOrder[]): void {
    if (orders.length !== 1) throw new PayoutRefused(`a Tron transaction carries one transfer; send Tron withdrawals in batches of one (got ${orders.length})`);
    const o = orders[0]!;
    if (!this.network.coins.some((c) => c.id === o.coinId)) throw new PayoutRefused(`${o.coinId} is not a coin of ${this.network.id}`);
    const check = checkTronAddress(o.to);
    if (!check.ok) throw new PayoutRefused(`${JSON.stringify(o.to)} is not an address on ${this.network.id}: ${check.reason}`);
    if (o.amount <= 0n) throw new PayoutRefused('the amount must be above zero');
  }

  async checkFunds(wallet: HotWallet, orders: TransferOrder[]): Promise<Funds> {
    const order = orders[0]!;
    const coin = this.network.coins.find((c) => c.id === order.coinId)!;
    const ownerHex = tronBase58ToHex(wallet.address);
    const [account, quote] = await Promise.all([
      this.transport.post<{ balance?: number }>('/wallet/getaccount', { address: ownerHex, visible: false }),
      this.signer.estimateFee(wallet.address, orders),
    ]);
    const trx = BigInt(account.balance ?? 0);
    const missing: string[] = [];
    const shorts: Short[] = [];
    const trxCoin = this.network.nativeCoin;
    if (coin.contract) {
      const res = await this.transport.post<{ constant_result?: string[] }>('/wallet/triggerconstantcontract', {
        owner_address: ownerHex,
        contract_address: tronBase58ToHex(coin.contract),
        function_selector: 'balanceOf(address)',
        parameter: ownerHex.slice(2).padStart(64, '0'),
        visible: false,
      });
      const tokens = BigInt(`0x${res.constant_result?.[0] || '0'}`);
      if (tokens < order.amount) missing.push(`${tokens} of the ${order.amount} base units of ${coin.id} it pays`);
      if (trx < quote.fee) missing.push(`${trx} of the ${quote.fee} base units of ${trxCoin.id} it may burn for energy and bandwidth`);
      shorts.push(
        { coin, missing: order.amount - tokens, purpose: 'to pay' },
        { coin: trxCoin, missing: quote.fee - trx, purpose: 'for energy and bandwidth' },
      );
    } else if (trx < order.amount + quote.fee) {
      missing.push(`${trx} of the ${order.amount} base units of ${coin.id} it pays plus ${quote.fee} for bandwidth`);
      shorts.push({ coin: trxCoin, missing: order.amount + quote.fee - trx, purpose: 'to pay and for bandwidth' });
    }
    if (!missing.length) return { ok: true };
    return { ok: false, reason: `HOT wallet ${wallet.address} has ${missing.join(', and ')}${fundHint(wallet.address, shorts)}` };
  }

  async needsApproval(): Promise<boolean> {
    return false;
  }

  signApproval(): Promise<SignedPayout> {
    throw new Error('Tron payouts need no approval');
  }

  pendingNonce(): Promise<number> {
    throw new Error('Tron has no nonces');
  }

  async sign(key: SigningKey, orders: TransferOrder[]): Promise<SignedPayout> {
    const tx = await this.signer.sign(key, orders).catch((err: unknown) => {
      // The signer's own refusals (bad amount, energy above the fee limit) are not transient.
      if (err instanceof ChainError) throw err;
      throw new PayoutRefused((err as Error).message);
    });
    return { txHash: tx.txHash, raw: tx.raw, fee: tx.fee.fee, feeDetail: tx.fee.detail, nonce: null };
  }

  async broadcast(tx: { txHash: string; raw: string; fee: bigint }): Promise<void> {
    await this.signer.broadcast({ txHash: tx.txHash, raw: tx.raw, fee: { fee: tx.fee, detail: {} } });
  }

  async status(tx: StoredTx): Promise<OutgoingStatus> {
    const st = await this.watcher.getTransactionStatus(tx.txHash);
    if (st.state !== 'confirmed') return st;
    const [tip, info] = await Promise.all([
      this.watcher.getTipHeight(),
      this.transport.post<TronTxInfoJson>('/wallet/gettransactioninfobyid', { value: tx.txHash.toLowerCase() }),
    ]);
    const failed = info.result === 'FAILED' || (info.receipt?.result !== undefined && info.receipt.result !== 'SUCCESS');
    return {
      state: 'confirmed',
      blockHeight: st.blockHeight,
      confirmations: Math.max(0, tip - st.blockHeight + 1),
      success: !failed,
      fee: BigInt(info.fee ?? 0),
    };
  }

  async bump(): Promise<SignedPayout | null> {
    return null;
  }
}
