import type { PaymentContext } from '../context';
import { type DepositRow, fmt } from '../services/rows';

export const Deposit = {
  /** Deposits are read through their payment; a bare reference resolves nothing. */
  __resolveReference: (_ref: { id: string }): null => null,
  id: (d: DepositRow) => d.id,
  txHash: (d: DepositRow) => d.tx_hash,
  index: (d: DepositRow) => d.idx,
  fromAddress: (d: DepositRow) => d.from_address,
  amount: (d: DepositRow, _: unknown, ctx: PaymentContext) => {
    const entry = ctx.payments.coin(d.coin_id);
    if (!entry) throw new Error(`coin ${d.coin_id} is no longer configured`);
    return fmt(d.amount, entry.coin.decimals);
  },
  coin: (d: DepositRow) => ({ id: d.coin_id }),
  confirmations: (d: DepositRow) => d.confirmations,
  blockNumber: (d: DepositRow) => (d.block_number === null ? null : Number(d.block_number)),
  status: (d: DepositRow) => d.status,
  detectedAt: (d: DepositRow) => d.detected_at,
  confirmedAt: (d: DepositRow) => d.confirmed_at,
};
