import type { ApiScope, Identity } from './identity';
import { forbidden, unauthenticated } from './errors';

export type MerchantIdentity = Extract<Identity, { kind: 'merchant' }>;

/** Resolvers call this first: a merchant key holding `scope` (READ for reads). */
export function requireMerchant(identity: Identity, scope: ApiScope): MerchantIdentity {
  if (identity.kind === 'anonymous') throw unauthenticated('an API key is required: send "Authorization: Bearer <key>"');
  if (identity.kind !== 'merchant') throw forbidden('this operation acts on a merchant: call it with a merchant API key');
  if (!identity.scopes.includes(scope)) throw forbidden(`this API key lacks the ${scope} scope`);
  return identity;
}

export function requireOperator(identity: Identity): void {
  if (identity.kind === 'anonymous') throw unauthenticated('the operator token is required');
  if (identity.kind !== 'operator') throw forbidden('only the operator may do this');
}
