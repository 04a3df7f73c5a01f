import { getCreateAddress, hexlify, Interface, SigningKey, Transaction, computeAddress } from 'ethers';
import {
  ChainError,
  type ChainSigner,
  type FeeQuote,
  type NetworkConfig,
  type RpcTransport,
  type SignedTransaction,
  type SigningKey as Key,
  type TransferOrder,
} from '../types';
import { checkAddress, toChecksumAddress } from './address';
import { BATCH_TRANSFER } from './contracts';
import { broadcastEvmTransaction } from './broadcast';
import { type EvmFeeOptions, type EvmFees, type EvmTxShape, gasQuote, readEvmFees, roughGas } from './fees';
import { NonceManager } from './nonces';
import type { RawReceipt } from './raw';

// Kept here for the signer's callers (replacement pricing reads the same fee parameters).
export type { EvmFees } from './fees';

/**
 * Builds, signs (EIP-1559) and broadcasts EVM transactions. ethers is used only to encode and
 * sign; every node call goes through our RpcTransport (pooling, retries, failover).
 *
 * One order is one plain transaction (native send, or ERC-20 `transfer`). Several orders (one
 * coin) go through the BatchTransfer contract in one transaction: `batchSend` for the native
 * coin, `batchTransferFrom` for tokens, which pulls from the hot wallet and therefore needs a
 * one-time `approve` of the contract (signApproval). Fee parameters, rough gas and quotes are
 * the family's fee estimator (fees.ts); broadcasting needs no key (broadcast.ts).
 */

export const ERC20 = new Interface([
  'function transfer(address to, uint256 amount) returns (bool)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address owner) view returns (uint256)',
]);
export const BATCH = new Interface(BATCH_TRANSFER.abi as string[]);

export interface EvmSignerOptions extends EvmFeeOptions {
  /** Share one per process so every signer of the same hot wallet counts nonces together. */
  nonces?: NonceManager;
  /** Address of the deployed BatchTransfer contract; required for orders of more than one transfer. */
  batchContract?: string;
  /** Most orders in one batch, keeping it far below block gas limits. Default 200. */
  maxBatchSize?: number;
}

type Plan = {
  to: string | null;
  value: bigint;
  data: string;
  shape: EvmTxShape;
  count: number;
  token?: string;
  total?: bigint;
};

const hex = (n: bigint | number) => `0x${n.toString(16)}`;

export class EvmSigner implements ChainSigner {
  readonly nonces: NonceManager;
  private readonly batchContract: string | undefined;
  private readonly maxBatchSize: number;

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
    private readonly opts: EvmSignerOptions = {},
  ) {
    if (network.family !== 'EVM') throw new Error(`EvmSigner cannot sign for ${network.family} network ${network.id}`);
    this.nonces = opts.nonces ?? new NonceManager(transport);
    this.batchContract = opts.batchContract ? toChecksumAddress(opts.batchContract) : undefined;
    this.maxBatchSize = opts.maxBatchSize ?? 200;
  }

  /**
   * Called before a withdrawal is queued and for estimates. Read-only and idempotent. The fee is
   * an upper bound (gas limit x max fee per gas); detail.expectedFee is what it costs at today's
   * base fee. When the node cannot simulate (empty wallet, token batch not approved yet), the gas
   * comes from a conservative formula instead.
   */
  async estimateFee(from: string, orders: TransferOrder[]): Promise<FeeQuote> {
    const plan = this.plan(orders);
    const fees = await this.fees();
    let gasLimit: bigint;
    try {
      gasLimit = await this.estimateGas(from, plan);
    } catch (err) {
      if (err instanceof ChainError && err.transient) throw err;
      gasLimit = roughGas(plan.shape, plan.count);
    }
    return gasQuote(gasLimit, fees);
  }

  /**
   * Called once per batch attempt. Not idempotent: each call takes a new nonce and gives a new
   * hash. The caller stores the result before broadcasting and re-broadcasts that raw transaction
   * on retry. Simulates first (eth_estimateGas), so an order that would revert (no funds, token
   * batch not approved) fails here instead of burning gas on chain.
   */
  async sign(key: Key, orders: TransferOrder[]): Promise<SignedTransaction> {
    const signer = this.signerOf(key);
    const plan = this.plan(orders);
    if (plan.shape === 'batch-token') {
      const allowed = await this.allowance(signer.address, plan.token!, this.batchContract!);
      if (allowed < plan.total!) {
        throw new ChainError(
          `${this.network.id}: ${signer.address} has approved ${allowed} of ${plan.total} for BatchTransfer ${this.batchContract}; sign and broadcast signApproval first, and let it be mined`,
          false,
        );
      }
    }
    return (await this.signPlan(signer, plan)).tx;
  }

  /**
   * Lets the BatchTransfer contract move `coinId` tokens of the key's address (needed once per
   * hot wallet and token before token batches; default: unlimited). Not idempotent: a new nonce
   * each call. Some tokens (mainnet USDT) refuse to change a non-zero allowance to another
   * non-zero value, hence the unlimited default that never needs changing.
   */
  async signApproval(key: Key, coinId: string, amount: bigint = (1n << 256n) - 1n): Promise<SignedTransaction> {
    const coin = this.coin(coinId);
    if (!coin.contract) throw new Error(`${coinId} is the native coin; nothing to approve`);
    const spender = this.requireBatchContract();
    return this.signContractCall(key, coin.contract, ERC20.encodeFunctionData('approve', [spender, amount]));
  }

  /** Called once per network and hot wallet setup: signs a BatchTransfer deployment, whose address is known before broadcast. Not idempotent. */
  async signBatchTransferDeployment(key: Key): Promise<{ tx: SignedTransaction; address: string }> {
    return this.signDeployment(key, BATCH_TRANSFER.bytecode);
  }

  /** Called for contract deployments (BatchTransfer, dev tokens): `bytecode` with constructor arguments appended. Not idempotent. */
  async signDeployment(key: Key, bytecode: string): Promise<{ tx: SignedTransaction; address: string }> {
    const signer = this.signerOf(key);
    const { tx, nonce } = await this.signPlan(signer, { to: null, value: 0n, data: bytecode, shape: 'deploy', count: 1 });
    return { tx, address: getCreateAddress({ from: signer.address, nonce }) };
  }

  /** Called for approvals, contract administration and tests: signs an arbitrary call. Not idempotent. */
  async signContractCall(key: Key, to: string, data: string, value = 0n): Promise<SignedTransaction> {
    const signer = this.signerOf(key);
    return (await this.signPlan(signer, { to: this.address(to), value, data, shape: 'call', count: 1 })).tx;
  }

  /**
   * Called after the signed transaction is stored, and again with the same one on every retry.
   * Idempotent (see broadcastEvmTransaction); a rejection makes the local nonce count re-read.
   */
  broadcast(tx: SignedTransaction): Promise<string> {
    return broadcastEvmTransaction(this.network, this.transport, tx, (from) => this.nonces.invalidate(from));
  }

  /** Called by estimateFee and sign: fee parameters (see readEvmFees). Read-only, idempotent. */
  fees(): Promise<EvmFees> {
    return readEvmFees(this.network, this.transport, this.opts);
  }

  /** Called before token batches: allowance of `owner` for `spender` (default: the batch contract). Read-only, idempotent. */
  async allowance(owner: string, tokenOrCoinId: string, spender: string = this.requireBatchContract()): Promise<bigint> {
    const token = tokenOrCoinId.startsWith('0x') ? tokenOrCoinId : this.coin(tokenOrCoinId).contract!;
    const data = ERC20.encodeFunctionData('allowance', [owner, spender]);
    return BigInt(await this.transport.call<string>('eth_call', [{ to: token, data }, 'latest']));
  }

  private async signPlan(signer: { key: SigningKey; address: string }, plan: Plan): Promise<{ tx: SignedTransaction; nonce: number }> {
    // Fees and simulation run inside the address's turn, so nonces follow the order of the
    // sign calls: callers broadcasting in that order never leave a gap for the node to wait on.
    return this.nonces.withNonce(signer.address, async (nonce) => {
      const [fees, gasLimit] = await Promise.all([
        this.fees(),
        this.estimateGas(signer.address, plan).catch((err) => Promise.reject(wouldFail(this.network, err))),
      ]);
      const tx = Transaction.from({
        type: 2,
        chainId: BigInt(this.network.chainId),
        nonce,
        to: plan.to,
        value: plan.value,
        data: plan.data,
        gasLimit,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      tx.signature = signer.key.sign(tx.unsignedHash);
      return { tx: { txHash: tx.hash!, raw: tx.serialized, fee: gasQuote(gasLimit, fees) }, nonce };
    });
  }

  /**
   * The node's simulation; plain sends get exactly their 21000, anything running code gets 20%
   * headroom, since state can change between estimate and inclusion.
   */
  private async estimateGas(from: string, plan: Plan): Promise<bigint> {
    const call: Record<string, string> = { from, value: hex(plan.value), data: plan.data };
    if (plan.to) call.to = plan.to;
    const gas = BigInt(await this.transport.call<string>('eth_estimateGas', [call]));
    return gas === 21_000n && plan.data === '0x' ? gas : (gas * 120n) / 100n;
  }

  private plan(orders: TransferOrder[]): Plan {
    if (orders.length === 0) throw new Error('no orders to sign');
    const coinId = orders[0]!.coinId;
    if (orders.some((o) => o.coinId !== coinId)) throw new ChainError(`${this.network.id}: one transaction pays one coin; split orders by coin`, false);
    const coin = this.coin(coinId);
    const tos = orders.map((o) => this.address(o.to));
    for (const o of orders)
      if (typeof o.amount !== 'bigint' || o.amount <= 0n)
        throw new ChainError(`${this.network.id}: amount must be a positive bigint, got ${String(o.amount)}`, false);
    const amounts = orders.map((o) => o.amount);
    const total = amounts.reduce((a, b) => a + b, 0n);
    if (orders.length === 1) {
      if (!coin.contract) return { to: tos[0]!, value: total, data: '0x', shape: 'native', count: 1 };
      return {
        to: toChecksumAddress(coin.contract),
        value: 0n,
        data: ERC20.encodeFunctionData('transfer', [tos[0], total]),
        shape: 'token',
        count: 1,
        token: coin.contract,
        total,
      };
    }
    if (orders.length > this.maxBatchSize)
      throw new ChainError(`${this.network.id}: ${orders.length} orders exceed the batch limit of ${this.maxBatchSize}`, false);
    const batch = this.requireBatchContract();
    if (!coin.contract)
      return { to: batch, value: total, data: BATCH.encodeFunctionData('batchSend', [tos, amounts]), shape: 'batch-native', count: orders.length, total };
    return {
      to: batch,
      value: 0n,
      data: BATCH.encodeFunctionData('batchTransferFrom', [coin.contract, tos, amounts]),
      shape: 'batch-token',
      count: orders.length,
      token: coin.contract,
      total,
    };
  }

  private signerOf(key: Key): { key: SigningKey; address: string } {
    if (!(key.privateKey instanceof Uint8Array) || key.privateKey.length !== 32) throw new Error('signing key must be 32 bytes');
    const signingKey = new SigningKey(hexlify(key.privateKey));
    const address = computeAddress(signingKey.publicKey);
    // Never echo the key: only the addresses appear in the message.
    if (address.toLowerCase() !== key.address.toLowerCase()) throw new ChainError(`signing key does not control ${key.address}`, false);
    return { key: signingKey, address };
  }

  private address(input: string): string {
    const check = checkAddress(input);
    if (!check.ok) throw new ChainError(`${this.network.id}: invalid address ${JSON.stringify(input)}: ${check.reason}`, false);
    return check.address;
  }

  private coin(coinId: string) {
    const coin = this.network.coins.find((c) => c.id === coinId);
    if (!coin) throw new ChainError(`${coinId} is not a coin of ${this.network.id}`, false);
    return coin;
  }

  private requireBatchContract(): string {
    if (!this.batchContract)
      throw new ChainError(`${this.network.id}: several orders in one transaction need a BatchTransfer contract (EvmSignerOptions.batchContract)`, false);
    return this.batchContract;
  }
}

function wouldFail(network: NetworkConfig, err: unknown): unknown {
  if (err instanceof ChainError && !err.transient)
    return new ChainError(`${network.id}: the node rejects this transaction in simulation: ${err.message}`, false, err);
  return err;
}

/**
 * Polls for a receipt until it appears or `timeoutMs` passes (then null). For the collector and
 * dev tools that need to wait for inclusion; read-only.
 */
export async function waitForReceipt(
  transport: RpcTransport,
  txHash: string,
  opts: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<RawReceipt | null> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const receipt = await transport.call<RawReceipt | null>('eth_getTransactionReceipt', [txHash]);
    if (receipt?.blockHash) return receipt;
    if (Date.now() >= deadline) return null;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
