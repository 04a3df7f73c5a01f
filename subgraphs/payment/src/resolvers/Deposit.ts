import type { PaymentContext } from '../context';
import { type DepositRow, fmt } from '../services/rows';
import { privateField } from './projection';

export const Deposit = {
  /** Deposits are read through their payment; a bare reference resolves nothing. */
  __resolveReference: (_ref: { id: string }): null => null,
  id: (d: DepositRow) => d.id,
  // The transaction and its sender identify the customer: the merchant's, not the checkout's.
  txHash: (d: DepositRow, _: unknown, ctx: PaymentContext) => privateField(d, ctx, 'Deposit.txHash', () => d.tx_hash),
  index: (d: DepositRow, _: unknown, ctx: PaymentContext) => privateField(d, ctx, 'Deposit.index', () => d.idx),
  fromAddress: (d: DepositRow, _: unknown, ctx: PaymentContext) => privateField(d, ctx, 'Deposit.fromAddress', () => d.from_address),
  amount: (d: DepositRow, _: unknown, ctx: PaymentContext) => {
    const entry = ctx.payments.coin(d.coin_id);
    if (!entry) throw new Error(`coin ${d.coin_id} is no longer configured`);
    return fmt(d.amount, entry.coin.decimals);
  },
  coin: (d: DepositRow) => ({ id: d.coin_id }),
  confirmations: (d: DepositRow) => d.confirmations,
  blockNumber: (d: DepositRow, _: unknown, ctx: PaymentContext) =>
    privateField(d, ctx, 'Deposit.blockNumber', () => (d.block_number === null ? null : Number(d.block_number))),
  status: (d: DepositRow) => d.status,
  detectedAt: (d: DepositRow) => d.detected_at,
  confirmedAt: (d: DepositRow) => d.confirmed_at,
};
