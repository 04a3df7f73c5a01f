import { ChainError, type ChainSigner, type NetworkConfig, type RpcTransport, type SignedTransaction, type SigningKey, type TransferOrder } from '@cpg/chains';

/**
 * One face per chain family for the withdrawal processor: funds check, sign, broadcast, status of
 * an outgoing transaction, fee bump by replacement. Keys arrive per call and are never kept. The
 * families implement it in bitcoin-chain.ts, evm-chain.ts and tron-chain.ts; the building of
 * transactions lives in @cpg/chains.
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
  /** EVM: signs the one-time approve of the batch contract at `nonce`; nothing is sent. Not idempotent (a fresh signature each call). */
  signApproval(key: SigningKey, coinId: string, batchContract: string, nonce: number): Promise<SignedPayout>;
  /** EVM: the node's pending transaction count of `address`, read before choosing a nonce. Read-only. */
  pendingNonce(address: string): Promise<number>;
  /** Signs the payout of `orders` (the processor stores it before broadcasting); nothing is sent. Not idempotent. */
  sign(key: SigningKey, orders: TransferOrder[], batchContract: string | null, nonce: number | null): Promise<SignedPayout>;
  /** Idempotent (a known or mined transaction counts as sent). ChainError.transient: unknown outcome. */
  broadcast(tx: { txHash: string; raw: string; fee: bigint }): Promise<void>;
  /** Where a sent transaction stands now; called on every visit of a BROADCAST batch. Read-only. */
  status(tx: StoredTx): Promise<OutgoingStatus>;
  /** Called when `tx` stayed pending too long. A replacement of `tx` paying a higher fee (same nonce / same inputs); null when it cannot be bumped. */
  bump(key: SigningKey, tx: StoredTx, percent: number): Promise<SignedPayout | null>;
}

/** A failure whose outcome is unknown (or may pass): the same step is tried again later. */
export function isTransient(err: unknown): boolean {
  return !(err instanceof ChainError) || err.transient;
}

/** What the processor stores of a signed transaction. */
export function signedPayout(tx: SignedTransaction, nonce: number | null): SignedPayout {
  return { txHash: tx.txHash, raw: tx.raw, fee: tx.fee.fee, feeDetail: tx.fee.detail, nonce };
}

/** Sends a stored transaction (again) through the family's signer: its fee detail plays no part in sending. */
export async function broadcastStored(signer: ChainSigner, tx: { txHash: string; raw: string; fee: bigint }): Promise<void> {
  await signer.broadcast({ txHash: tx.txHash, raw: tx.raw, fee: { fee: tx.fee, detail: {} } });
}

/** Confirmations of a transaction mined at `height` with the chain at `tip` (the block itself counts). */
export const confirmationsAt = (tip: number, height: number): number => Math.max(0, tip - height + 1);

/** The families without nonces or token approvals (Bitcoin, Tron): the processor never asks them for either. */
export abstract class NoncelessPayoutChain {
  readonly usesNonce = false;
  protected abstract readonly signer: ChainSigner;

  constructor(
    readonly network: NetworkConfig,
    protected readonly transport: RpcTransport,
  ) {}

  async needsApproval(): Promise<boolean> {
    return false;
  }

  signApproval(): Promise<SignedPayout> {
    throw new Error(`${this.network.id} payouts need no approval`);
  }

  pendingNonce(): Promise<number> {
    throw new Error(`${this.network.id} has no nonces`);
  }

  broadcast(tx: { txHash: string; raw: string; fee: bigint }): Promise<void> {
    return broadcastStored(this.signer, tx);
  }
}
