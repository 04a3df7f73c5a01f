import type { ComplianceContext } from '../context';
import { type AssessmentRow, T, toRiskAssessment } from '../services/screening';

export const Withdrawal = {
  /** Owned by the withdrawal subgraph; compliance only adds `risk`, so the reference is all it needs. */
  __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
  /** The newest screening the withdrawal subgraph asked for (subjectRef `withdrawal:<id>`); null when none. */
  risk: async (w: { id: string }, _: unknown, ctx: ComplianceContext) => {
    const [row] = await ctx.em.execute<AssessmentRow[]>(
      `select * from ${T}.assessments where subject_ref in (?, ?) and direction = 'OUT' order by screened_at desc limit 1`,
      [`withdrawal:${w.id}`, w.id],
    );
    return row ? toRiskAssessment(row) : null;
  },
};
