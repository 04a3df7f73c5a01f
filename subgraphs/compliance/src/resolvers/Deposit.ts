import { forbidden, requireMerchant } from '@cpg/core/graphql';
import type { DepositResolvers } from '../generated/resolvers-types';
import { depositSubjectRef } from '../consumers';
import { type AssessmentRow, T, toRiskAssessment } from '../services/screening';

export const Deposit: DepositResolvers = {
  /** Owned by the payment subgraph; the gateway sends the fields `risk` requires with the reference. */
  __resolveReference: (ref) => ref,
  /**
   * The stored screening of the deposit's sender; null when it was never screened. Only for the
   * operator and the merchant it was made for: its reasons are that merchant's grey-list notes,
   * and a checkout reader (anonymous, or another merchant holding the token) must not learn that
   * the sender is flagged.
   */
  risk: async (d, _, ctx) => {
    if (ctx.identity.kind === 'anonymous') throw forbidden("Deposit.risk is visible to the deposit's merchant only");
    const merchantId = ctx.identity.kind === 'merchant' ? requireMerchant(ctx.identity, 'READ').merchantId : null;
    if (!d.txHash || d.index === undefined || !d.coin?.id) return null;
    const network = d.coin.id.split(':')[0]!;
    const [row] = await ctx.em.execute<AssessmentRow[]>(`select * from ${T}.assessments where subject_ref = ? order by screened_at desc limit 1`, [
      depositSubjectRef(network, d.txHash, d.index),
    ]);
    if (!row) return null;
    if (merchantId !== null && row.merchant_id !== merchantId) throw forbidden("Deposit.risk is visible to the deposit's merchant only");
    return toRiskAssessment(row);
  },
};
