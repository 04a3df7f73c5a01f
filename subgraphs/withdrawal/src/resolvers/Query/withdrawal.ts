import { requireMerchant } from '@cpg/core/graphql';
import type { WithdrawalContext } from '../../context';

/** A merchant reads its own withdrawals (another's is simply not found); the operator reads any. */
export async function withdrawal(_: unknown, args: { id: string }, ctx: WithdrawalContext) {
  if (ctx.identity.kind !== 'operator') requireMerchant(ctx.identity, 'READ');
  return ctx.withdrawals.findVisible(ctx.identity, args.id);
}
