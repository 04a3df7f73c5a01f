import type { SigningKey, TransferOrder } from '@cpg/chains';
import { changeOutputIndex, planBitcoinReplacement, readPrevouts, signBitcoinReplacement } from '@cpg/chains/bitcoin/replace';
import { BitcoinSigner, BitcoinSignerError } from '@cpg/chains/signers';
import { BitcoinTxStatusReader } from '@cpg/chains/bitcoin/tx-status';
import type { Funds, HotWallet, OutgoingStatus, PayoutChain, SignedPayout, StoredTx } from './chains';
import { NoncelessPayoutChain, PayoutRefused, confirmationsAt, signedPayout } from './chains';
import { fundHint } from './shortfall';

function refusedFrom(err: unknown): never {
  if (err instanceof BitcoinSignerError && err.code === 'BAD_USER_INPUT') throw new PayoutRefused(err.message);
  throw err;
}

export class BitcoinPayoutChain extends NoncelessPayoutChain implements PayoutChain {
  readonly signer = new BitcoinSigner(this.network, this.transport);
  private readonly txStatus = new BitcoinTxStatusReader(this.network, this.transport);

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

  async sign(key: SigningKey, orders: TransferOrder[]): Promise<SignedPayout> {
    const signed = await this.signer.sign(key, orders).catch(refusedFrom);
    return signedPayout(signed, null);
  }

  async status(tx: StoredTx): Promise<OutgoingStatus> {
    const st = await this.txStatus.getTransactionStatus(tx.txHash);
    if (st.state !== 'confirmed') return st;
    const tip = await this.txStatus.getTipHeight();
    return { state: 'confirmed', blockHeight: st.blockHeight, confirmations: confirmationsAt(tip, st.blockHeight), success: true, fee: null };
  }

  async bump(key: SigningKey, tx: StoredTx, percent: number): Promise<SignedPayout | null> {
    // The fee rate is asked for only when there is change to pay the bump from.
    if (changeOutputIndex(this.network, key.address, tx.raw) < 0) return null;
    const plan = planBitcoinReplacement(this.network, key.address, tx, percent, await this.signer.feeRate());
    if (!plan) return null;
    return signBitcoinReplacement(this.network, key, tx, plan, await readPrevouts(this.transport, plan.inputs));
  }
}
