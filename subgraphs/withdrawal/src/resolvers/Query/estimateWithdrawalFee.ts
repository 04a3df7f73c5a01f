import { requireMerchant } from '@cpg/core/graphql';
import { formatAmount } from '@cpg/core/money';
import type { QueryResolvers } from '../../generated/resolvers-types';

/** The network fee one withdrawal of the coin would cost, in the network's native coin. */
export const estimateWithdrawalFee: QueryResolvers['estimateWithdrawalFee'] = async (_, args, ctx) => {
  requireMerchant(ctx.identity, 'READ');
  const q = await ctx.withdrawals.estimateFee(args.coinId, args.amount);
  return { coin: { id: q.entry.coin.id }, fee: formatAmount(q.fee, q.feeCoin.decimals), feeCoin: { id: q.feeCoin.id } };
};
