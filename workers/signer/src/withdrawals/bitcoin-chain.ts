import type { NetworkConfig, RpcTransport, SigningKey, TransferOrder } from '@cpg/chains';
import { changeOutputIndex, planBitcoinReplacement, readPrevouts, signBitcoinReplacement } from '@cpg/chains/bitcoin/replace';
import { BitcoinSigner, BitcoinSignerError } from '@cpg/chains/signers';
import { BitcoinTxStatusReader } from '@cpg/chains/bitcoin/tx-status';
import { type Funds, type HotWallet, type OutgoingStatus, PayoutRefused, type PayoutChain, type SignedPayout, type StoredTx } from './chains';
import { fundHint } from './shortfall';

function refusedFrom(err: unknown): never {
  if (err instanceof BitcoinSignerError && err.code === 'BAD_USER_INPUT') throw new PayoutRefused(err.message);
  throw err;
}

export class BitcoinPayoutChain implements PayoutChain {
  readonly usesNonce = false;
  readonly signer: BitcoinSigner;
  private readonly txStatus: BitcoinTxStatusReader;

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
  ) {
    this.signer = new BitcoinSigner(network, transport);
    this.txStatus = new BitcoinTxStatusReader(network, transport);
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
    const st = await this.txStatus.getTransactionStatus(tx.txHash);
    if (st.state !== 'confirmed') return st;
    const tip = await this.txStatus.getTipHeight();
    return { state: 'confirmed', blockHeight: st.blockHeight, confirmations: Math.max(0, tip - st.blockHeight + 1), success: true, fee: null };
  }

  async bump(key: SigningKey, tx: StoredTx, percent: number): Promise<SignedPayout | null> {
    // The fee rate is asked for only when there is change to pay the bump from.
    if (changeOutputIndex(this.network, key.address, tx.raw) < 0) return null;
    const plan = planBitcoinReplacement(this.network, key.address, tx, percent, await this.signer.feeRate());
    if (!plan) return null;
    return signBitcoinReplacement(this.network, key, tx, plan, await readPrevouts(this.transport, plan.inputs));
  }
}
