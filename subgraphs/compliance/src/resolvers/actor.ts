import { type ApiScope, requireMerchant } from '@cpg/core/graphql';
import type { ComplianceContext } from '../context';
import type { Actor } from '../services/greylist';

/** The operator, or a merchant key holding `scope`. */
export function actorOf(ctx: ComplianceContext, scope: ApiScope): Actor {
  if (ctx.identity.kind === 'operator') return { kind: 'operator' };
  return { kind: 'merchant', merchantId: requireMerchant(ctx.identity, scope).merchantId };
}
