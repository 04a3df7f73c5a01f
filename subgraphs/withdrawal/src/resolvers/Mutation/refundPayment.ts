import { requireMerchant } from '@cpg/core/graphql';
import type { WithdrawalContext } from '../../context';
import type { RefundPaymentInput } from '../../services/withdrawals';

export async function refundPayment(_: unknown, args: { input: RefundPaymentInput }, ctx: WithdrawalContext) {
  const caller = requireMerchant(ctx.identity, 'WITHDRAWALS_WRITE');
  return ctx.withdrawals.refund(caller, args.input);
}
