import type { ComplianceContext } from '../context';
import { depositSubjectRef } from '../consumers';
import { type AssessmentRow, T, toRiskAssessment } from '../services/screening';

interface DepositRef {
  id: string;
  txHash?: string;
  index?: number;
  coin?: { id: string };
}

export const Deposit = {
  /** Owned by the payment subgraph; the gateway sends the fields `risk` requires with the reference. */
  __resolveReference: (ref: DepositRef) => ref,
  /** The stored screening of the deposit's sender; null when it was never screened. */
  risk: async (d: DepositRef, _: unknown, ctx: ComplianceContext) => {
    if (!d.txHash || d.index === undefined || !d.coin?.id) return null;
    const network = d.coin.id.split(':')[0]!;
    const [row] = await ctx.em.execute<AssessmentRow[]>(`select * from ${T}.assessments where subject_ref = ? order by screened_at desc limit 1`, [
      depositSubjectRef(network, d.txHash, d.index),
    ]);
    return row ? toRiskAssessment(row) : null;
  },
};
