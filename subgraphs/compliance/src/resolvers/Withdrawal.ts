import type { WithdrawalResolvers } from '../generated/resolvers-types';
import { type AssessmentRow, T, toRiskAssessment } from '../services/screening';

export const Withdrawal: WithdrawalResolvers = {
  /** Owned by the withdrawal subgraph; compliance only adds `risk`, so the reference is all it needs. */
  __resolveReference: (ref) => ({ id: ref.id }),
  /** The newest screening the withdrawal subgraph asked for (subjectRef `withdrawal:<id>`); null when none. */
  risk: async (w, _, ctx) => {
    const [row] = await ctx.em.execute<AssessmentRow[]>(
      `select * from ${T}.assessments where subject_ref in (?, ?) and direction = 'OUT' order by screened_at desc limit 1`,
      [`withdrawal:${w.id}`, w.id],
    );
    return row ? toRiskAssessment(row) : null;
  },
};
