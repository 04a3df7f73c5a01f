import { formatAmount } from '@cpg/core/money';
import type { DepositResolvers } from '../generated/resolvers-types';
import { privateField } from './projection';

export const Deposit: DepositResolvers = {
  /** Deposits are read through their payment; a bare reference resolves nothing. */
  __resolveReference: () => null,
  id: (d) => d.id,
  // The transaction and its sender identify the customer: the merchant's, not the checkout's.
  txHash: (d, _, ctx) => privateField(d, ctx, 'Deposit.txHash', () => d.tx_hash),
  index: (d, _, ctx) => privateField(d, ctx, 'Deposit.index', () => d.idx),
  fromAddress: (d, _, ctx) => privateField(d, ctx, 'Deposit.fromAddress', () => d.from_address),
  amount: (d, _, ctx) => {
    const entry = ctx.payments.coin(d.coin_id);
    if (!entry) throw new Error(`coin ${d.coin_id} is no longer configured`);
    return formatAmount(BigInt(d.amount), entry.coin.decimals);
  },
  coin: (d) => ({ id: d.coin_id }),
  confirmations: (d) => d.confirmations,
  blockNumber: (d, _, ctx) => privateField(d, ctx, 'Deposit.blockNumber', () => (d.block_number === null ? null : Number(d.block_number))),
  status: (d) => d.status,
  detectedAt: (d) => d.detected_at,
  confirmedAt: (d) => d.confirmed_at,
};
