import { pointFromScalar, signRecoverable } from 'tiny-secp256k1';
import { TronWeb } from 'tronweb';
import {
  ChainError,
  type ChainSigner,
  type CoinConfig,
  type FeeQuote,
  type NetworkConfig,
  type RpcTransport,
  type SignedTransaction,
  type SigningKey,
  type TransferOrder,
} from '../types';
import { checkTronAddress, tronAddressFromPublicKey } from './address';
import { broadcastTronTransaction } from './broadcast';
import {
  DEFAULT_TOKEN_ENERGY,
  type TronPrices,
  type TronResources,
  bandwidthBurn,
  mergeQuotes,
  quoteTronTransaction,
  readTronPrices,
  readTronResources,
  tokenTransferEnergy,
} from './fees';
import { bandwidthBytes, refBlockFields, sha256Hex, tronPost, type TronBlockJson, type TronTransactionJson } from './protocol';

export interface TronSignerOptions {
  /** fee_limit of TRC-20 transfers: the most TRX (sun) the call may burn for energy. Default 100 TRX, as the recorded mainnet USDT transfers carry. */
  feeLimitSun?: bigint;
  /** Validity of a signed transaction after the head block's time; java-tron accepts up to 24 h. Default 10 minutes. */
  expirationMs?: number;
  /** Energy assumed for a TRC-20 transfer when the node cannot simulate it; see DEFAULT_TOKEN_ENERGY. */
  tokenTransferEnergy?: { newHolder: number; holder: number };
  /** How long chain parameters (prices) are reused; they change only by committee proposals. Default 10 minutes. */
  chainParamsTtlMs?: number;
  /** Wall clock for raw_data.timestamp; tests pin it. */
  now?: () => number;
}

const MULTI_ORDER_ERROR = (n: number) => new Error(`Tron has no multi-output transactions: sign one order per transaction (got ${n} orders)`);

// tronweb builds transactions offline (blockHeader + txLocal) but still wants an instance; the
// unroutable host makes any request it might attempt fail here instead of reaching a public node.
let builder: TronWeb | null = null;
function tronWeb(): TronWeb {
  builder ??= new TronWeb({ fullHost: 'http://127.0.0.1:1' });
  return builder;
}

interface OrderPlan {
  coin: CoinConfig;
  fromHex: string;
  toHex: string;
}

/**
 * Builds TRX (TransferContract) and TRC-20 (`transfer(address,uint256)`) transactions offline
 * with tronweb, signs them with the caller's key and broadcasts them through the RPC pool.
 * Fees follow java-tron's resource model, as the family's fee estimator (fees.ts) computes them.
 */
export class TronSigner implements ChainSigner {
  private readonly feeLimitSun: bigint;
  private readonly expirationMs: number;
  private readonly tokenEnergy: { newHolder: number; holder: number };
  private readonly paramsTtlMs: number;
  private readonly now: () => number;
  private params: { at: number; prices: TronPrices } | null = null;
  private lastTimestamp = 0;

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
    opts: TronSignerOptions = {},
  ) {
    if (network.family !== 'TRON') throw new Error(`TronSigner given ${network.family} network ${network.id}`);
    this.feeLimitSun = opts.feeLimitSun ?? 100_000_000n;
    this.expirationMs = opts.expirationMs ?? 10 * 60_000;
    this.tokenEnergy = opts.tokenTransferEnergy ?? DEFAULT_TOKEN_ENERGY;
    this.paramsTtlMs = opts.chainParamsTtlMs ?? 10 * 60_000;
    this.now = opts.now ?? Date.now;
    if (this.feeLimitSun <= 0n || this.feeLimitSun > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error('feeLimitSun out of range');
  }

  /**
   * Called before a withdrawal is queued and for estimates; read-only and idempotent. Several
   * orders are quoted as that many separate transactions (Tron has no multi-output transaction),
   * each one using what the previous ones left of the account's free bandwidth and energy.
   */
  async estimateFee(from: string, orders: TransferOrder[]): Promise<FeeQuote> {
    if (orders.length === 0) throw new Error('no orders to estimate');
    const fromHex = this.addressHex(from, 'sender');
    const [prices, resources] = await Promise.all([this.prices(), this.resources(fromHex)]);
    const plans = orders.map((o) => this.plan(fromHex, o));
    // Any recent block reference gives the same size: ref fields are fixed-width and the
    // timestamps are varints of the same magnitude; no need to ask the node for one.
    const header = this.header({ ref_block_bytes: '0000', ref_block_hash: '0000000000000000' }, this.now());
    let total: FeeQuote | null = null;
    for (let i = 0; i < orders.length; i++) {
      const tx = await this.build(plans[i]!, orders[i]!, header);
      const quote = await this.quote(plans[i]!, orders[i]!, tx, prices, resources);
      total = total ? mergeQuotes(total, quote) : quote;
    }
    return total!;
  }

  /**
   * Called once per withdrawal attempt with exactly ONE order: Tron transactions carry a single
   * contract, so a batch must be signed as one transaction per order (several orders throw).
   * Not idempotent: each call gets a fresh timestamp and so a fresh txID; the caller stores the
   * result and re-broadcasts the same raw transaction on retry. The key is used for this call
   * only and is never logged or kept.
   */
  async sign(key: SigningKey, orders: TransferOrder[]): Promise<SignedTransaction> {
    if (orders.length !== 1) throw MULTI_ORDER_ERROR(orders.length);
    const order = orders[0]!;
    const fromHex = this.addressHex(key.address, 'signing key address');
    this.checkKey(key);
    const plan = this.plan(fromHex, order);
    const { header, prices, resources } = await this.chainState(fromHex);
    const tx = await this.build(plan, order, header);
    const fee = await this.quote(plan, order, tx, prices, resources);
    if (plan.coin.contract && BigInt(fee.detail.energyFee!) > this.feeLimitSun) {
      throw new ChainError(`energy for this transfer would burn ${fee.detail.energyFee} sun, above the fee limit of ${this.feeLimitSun} sun`, false);
    }
    const signed = signedJson(tx, key);
    return { txHash: tx.txID, raw: JSON.stringify(signed), fee };
  }

  /**
   * Signs a DelegateResourceContract (`delegate`: lend `sun` of the key's TRX staked for ENERGY to
   * `receiver`, unlocked) or an UnDelegateResourceContract (`undelegate`: take it back). Built
   * offline like transfers; not idempotent (fresh timestamp), so the caller stores the result.
   * `fee` is the bandwidth it may burn (upper bound: the key's free bandwidth may cover it).
   */
  async signResource(key: SigningKey, op: { kind: 'delegate' | 'undelegate'; receiver: string; sun: bigint }): Promise<SignedTransaction> {
    const fromHex = this.addressHex(key.address, 'signing key address');
    const receiverHex = this.addressHex(op.receiver, 'receiver');
    this.checkKey(key);
    if (op.sun < 1_000_000n || op.sun > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`cannot ${op.kind} ${op.sun} sun (at least 1 TRX)`);
    if (fromHex === receiverHex) throw new Error('an account cannot delegate to itself');
    const { header: blockHeader, prices, resources } = await this.chainState(fromHex);
    const tw = tronWeb();
    const built =
      op.kind === 'delegate'
        ? await tw.transactionBuilder.delegateResource(Number(op.sun), receiverHex, 'ENERGY', fromHex, false, undefined, { blockHeader })
        : await tw.transactionBuilder.undelegateResource(Number(op.sun), receiverHex, 'ENERGY', fromHex, { blockHeader });
    const tx = built as unknown as TronTransactionJson;
    if (sha256Hex(tx.raw_data_hex) !== tx.txID) throw new Error('built transaction id is not sha256(raw_data_hex)');
    const bytes = bandwidthBytes(tx.raw_data_hex.length / 2, 1);
    const bandwidthFee = bandwidthBurn(bytes, resources, prices);
    const signed = signedJson(tx, key);
    return {
      txHash: tx.txID,
      raw: JSON.stringify(signed),
      fee: {
        fee: BigInt(bandwidthFee),
        detail: { bandwidth: String(bytes), bandwidthFee: String(bandwidthFee), resource: 'ENERGY', [op.kind]: op.sun.toString() },
      },
    };
  }

  /**
   * Called after the signed transaction is stored, and again on retries. Idempotent (see
   * broadcastTronTransaction).
   */
  broadcast(tx: SignedTransaction): Promise<string> {
    return broadcastTronTransaction(this.transport, tx);
  }

  /** The key must be the one its address comes from: a wrong key would sign for another account. */
  private checkKey(key: SigningKey): void {
    const pub = key.privateKey.length === 32 ? pointFromScalar(key.privateKey, false) : null;
    if (!pub || tronAddressFromPublicKey(pub) !== key.address) throw new Error(`the signing key does not control ${key.address}`);
  }

  /** What a transaction built now needs: the head block to reference and expire from, prices, and `fromHex`'s resources. */
  private async chainState(fromHex: string) {
    const [head, prices, resources] = await Promise.all([
      tronPost<TronBlockJson>(this.transport, '/wallet/getnowblock', {}),
      this.prices(),
      this.resources(fromHex),
    ]);
    if (!head.blockID || !head.block_header) throw new ChainError('getnowblock returned no block (node starting?)', true);
    return { header: this.header(refBlockFields(head.blockID), head.block_header.raw_data.timestamp ?? this.now()), prices, resources };
  }

  private plan(fromHex: string, order: TransferOrder): OrderPlan {
    const coin = this.network.coins.find((c) => c.id === order.coinId);
    if (!coin) throw new Error(`coin ${order.coinId} is not on network ${this.network.id}`);
    if (typeof order.amount !== 'bigint' || order.amount <= 0n) throw new Error('transfer amount must be a positive bigint');
    const toHex = this.addressHex(order.to, 'recipient');
    if (!coin.contract) {
      if (toHex === fromHex) throw new Error('a TRX transfer to the sending account itself is refused by the chain');
      // tronweb takes the amount as a JS number; beyond 2^53 it would silently change the value.
      if (order.amount > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`TRX amount ${order.amount} sun is too large for one transfer`);
    }
    return { coin, fromHex, toHex };
  }

  private header(ref: { ref_block_bytes: string; ref_block_hash: string }, headTimestamp: number) {
    // Strictly increasing timestamps keep two identical orders signed in the same millisecond
    // from producing the same txID, which the chain would accept only once.
    const timestamp = Math.max(this.now(), this.lastTimestamp + 1);
    this.lastTimestamp = timestamp;
    return { ...ref, expiration: headTimestamp + this.expirationMs, timestamp };
  }

  private async build(
    plan: OrderPlan,
    order: TransferOrder,
    blockHeader: { ref_block_bytes: string; ref_block_hash: string; expiration: number; timestamp: number },
  ): Promise<TronTransactionJson> {
    const tw = tronWeb();
    let tx: TronTransactionJson;
    if (!plan.coin.contract) {
      // sendTrx has no txLocal flag: a complete blockHeader alone keeps it from asking a node.
      const built = await tw.transactionBuilder.sendTrx(plan.toHex, Number(order.amount), plan.fromHex, { blockHeader });
      tx = built as unknown as TronTransactionJson;
    } else {
      const built = await tw.transactionBuilder.triggerSmartContract(
        plan.coin.contract,
        'transfer(address,uint256)',
        { feeLimit: Number(this.feeLimitSun), txLocal: true, blockHeader },
        [
          { type: 'address', value: plan.toHex },
          { type: 'uint256', value: order.amount.toString() },
        ],
        plan.fromHex,
      );
      if (!built.result?.result || !built.transaction) throw new Error('tronweb did not build the TRC-20 transfer');
      tx = built.transaction as unknown as TronTransactionJson;
    }
    if (sha256Hex(tx.raw_data_hex) !== tx.txID) throw new Error('built transaction id is not sha256(raw_data_hex)');
    return tx;
  }

  private quote(plan: OrderPlan, order: TransferOrder, tx: TronTransactionJson, prices: TronPrices, left: TronResources): Promise<FeeQuote> {
    const contract = plan.coin.contract;
    return quoteTronTransaction(this.transport, {
      toHex: plan.toHex,
      bytes: bandwidthBytes(tx.raw_data_hex.length / 2, 1),
      prices,
      left,
      token: contract
        ? {
            energy: () =>
              tokenTransferEnergy(
                this.transport,
                { fromHex: plan.fromHex, toHex: plan.toHex, contractHex: this.addressHex(contract, 'token contract'), amount: order.amount },
                this.tokenEnergy,
              ),
            feeLimitSun: this.feeLimitSun,
          }
        : null,
    });
  }

  /** Chain prices, reused for chainParamsTtlMs. */
  private async prices(): Promise<TronPrices> {
    if (this.params && this.now() - this.params.at < this.paramsTtlMs) return this.params.prices;
    const prices = await readTronPrices(this.transport);
    this.params = { at: this.now(), prices };
    return prices;
  }

  private resources(addressHex: string): Promise<TronResources> {
    return readTronResources(this.transport, addressHex);
  }

  private addressHex(address: string, role: string): string {
    const check = checkTronAddress(address);
    if (!check.ok) throw new Error(`invalid ${role} address ${JSON.stringify(address)}: ${check.reason}`);
    return check.hex;
  }
}

/** The transaction with its recoverable secp256k1 signature over txID, as the node's broadcast expects. */
function signedJson(tx: TronTransactionJson, key: SigningKey): TronTransactionJson {
  const { signature, recoveryId } = signRecoverable(Buffer.from(tx.txID, 'hex'), key.privateKey);
  return {
    visible: false,
    txID: tx.txID,
    raw_data: tx.raw_data,
    raw_data_hex: tx.raw_data_hex,
    signature: [Buffer.from(signature).toString('hex') + recoveryId.toString(16).padStart(2, '0')],
  };
}
