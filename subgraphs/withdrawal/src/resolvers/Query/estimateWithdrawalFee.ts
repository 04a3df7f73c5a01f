import { requireMerchant } from '@cpg/core/graphql';
import { formatAmount } from '@cpg/core/money';
import type { WithdrawalContext } from '../../context';

/** The network fee one withdrawal of the coin would cost, in the network's native coin. */
export async function estimateWithdrawalFee(_: unknown, args: { coinId: string; amount: string }, ctx: WithdrawalContext) {
  requireMerchant(ctx.identity, 'READ');
  const q = await ctx.withdrawals.estimateFee(args.coinId, args.amount);
  return { coin: { id: q.entry.coin.id }, fee: formatAmount(q.fee, q.feeCoin.decimals), feeCoin: { id: q.feeCoin.id } };
}
