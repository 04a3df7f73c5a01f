import { ChainError, type SigningKey, type TransferOrder } from '@cpg/chains';
import { checkTronAddress, tronBase58ToHex } from '@cpg/chains/tron/address';
import type { TronTxInfoJson } from '@cpg/chains/tron/protocol';
import { TronSigner } from '@cpg/chains/signers';
import { TronTxStatusReader } from '@cpg/chains/tron/tx-status';
import type { Funds, HotWallet, OutgoingStatus, PayoutChain, SignedPayout, StoredTx } from './chains';
import { NoncelessPayoutChain, PayoutRefused, confirmationsAt, signedPayout } from './chains';
import { type Short, fundHint } from './shortfall';

/**
 * Tron: a transaction carries one contract, so a batch must hold exactly one withdrawal (the
 * withdrawal subgraph sends Tron batches of one). There is no fee market to bump: a transaction
 * that is not mined expires (10 minutes), after which it can never be mined and the batch FAILS
 * with nothing spent.
 */
export class TronPayoutChain extends NoncelessPayoutChain implements PayoutChain {
  protected readonly signer = new TronSigner(this.network, this.transport);
  private readonly txStatus = new TronTxStatusReader(this.network, this.transport);

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

  async sign(key: SigningKey, orders: TransferOrder[]): Promise<SignedPayout> {
    const tx = await this.signer.sign(key, orders).catch((err: unknown) => {
      // The signer's own refusals (bad amount, energy above the fee limit) are not transient.
      if (err instanceof ChainError) throw err;
      throw new PayoutRefused((err as Error).message);
    });
    return signedPayout(tx, null);
  }

  async status(tx: StoredTx): Promise<OutgoingStatus> {
    const st = await this.txStatus.getTransactionStatus(tx.txHash);
    if (st.state !== 'confirmed') return st;
    const [tip, info] = await Promise.all([
      this.txStatus.getTipHeight(),
      this.transport.post<TronTxInfoJson>('/wallet/gettransactioninfobyid', { value: tx.txHash.toLowerCase() }),
    ]);
    const failed = info.result === 'FAILED' || (info.receipt?.result !== undefined && info.receipt.result !== 'SUCCESS');
    return {
      state: 'confirmed',
      blockHeight: st.blockHeight,
      confirmations: confirmationsAt(tip, st.blockHeight),
      success: !failed,
      fee: BigInt(info.fee ?? 0),
    };
  }

  async bump(): Promise<SignedPayout | null> {
    return null;
  }
}
