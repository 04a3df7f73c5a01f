import { requireMerchant } from '@cpg/core/graphql';
import type { WithdrawalContext } from '../../context';

/** Merchants list their own withdrawals, newest first; the operator lists everyone's. */
export async function withdrawals(
  _: unknown,
  args: { filter?: { status?: string | null; coinId?: string | null } | null; first?: number | null; after?: string | null },
  ctx: WithdrawalContext,
) {
  const merchantId = ctx.identity.kind === 'operator' ? null : requireMerchant(ctx.identity, 'READ').merchantId;
  return ctx.withdrawals.list(merchantId, args.filter, args.first, args.after);
}
