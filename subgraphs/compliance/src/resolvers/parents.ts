import type { toAlert } from '../services/alerts';
import type { toEntry } from '../services/greylist';
import type { toRiskAssessment } from '../services/screening';

// What the resolvers hand to GraphQL for each object type that is not already its GraphQL shape;
// codegen.yml maps the types to these, so the generated resolver types check what the code returns.

/**
 * A `Deposit`: the payment subgraph owns deposits, and the gateway sends the reference with the
 * fields `risk` @requires. They are optional because a reference may come without them.
 */
export interface DepositRef {
  id: string;
  txHash?: string;
  index?: number;
  coin?: { id: string };
}

/** Service views whose enum fields (level, action) are stored as text: graphql-js checks the values on the way out. */
export type RiskAssessmentView = ReturnType<typeof toRiskAssessment>;
export type ComplianceAlertView = ReturnType<typeof toAlert>;
export type GreyListEntryView = ReturnType<typeof toEntry>;
