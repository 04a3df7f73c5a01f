import { requireMerchant, unavailable } from '@cpg/shared/graphql';
import type { WithdrawalContext } from '../../context';

// Fee estimates need the chain clients, which arrive with chain support.
export async function estimateWithdrawalFee(_: unknown, _args: { coinId: string; amount: string }, ctx: WithdrawalContext): Promise<never> {
  requireMerchant(ctx.identity, 'READ');
  throw unavailable('withdrawal fee estimates are not available in this version yet');
}
