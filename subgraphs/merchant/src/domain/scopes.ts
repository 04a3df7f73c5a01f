import { API_SCOPES, type ApiScope, badInput, forbidden } from '@cpg/core/graphql';

/**
 * A key may only mint keys with scopes it holds itself: otherwise a leaked settings-only key
 * could create a key that withdraws funds.
 */
export function grantableScopes(creator: readonly ApiScope[], requested: readonly string[]): ApiScope[] {
  if (!requested.length) throw badInput('scopes must not be empty', { field: 'scopes' });
  const unique = [...new Set(requested)];
  for (const s of unique) if (!(API_SCOPES as readonly string[]).includes(s)) throw badInput(`unknown scope ${s}`, { field: 'scopes' });
  const missing = unique.filter((s) => !creator.includes(s as ApiScope));
  if (missing.length) throw forbidden(`this API key cannot grant scopes it does not hold: ${missing.join(', ')}`);
  return API_SCOPES.filter((s) => unique.includes(s));
}
