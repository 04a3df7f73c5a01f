import { forbidden } from '@cpg/shared/graphql';
import type { MerchantContext } from '../context';
import type { MerchantRow } from '../entities';
import { isUuid } from '../domain/ids';
import { settingsOf } from '../services/merchants';

export const Merchant = {
  /** Federation entry: another subgraph returned a Merchant by id. Callers see only their own. */
  async __resolveReference(ref: { id: string }, ctx: MerchantContext) {
    if (ctx.identity.kind === 'merchant' && ctx.identity.merchantId !== ref.id) throw forbidden('not your merchant');
    if (ctx.identity.kind === 'anonymous') throw forbidden('not visible without an API key');
    return isUuid(ref.id) ? ctx.merchants.getMerchant(ref.id) : null;
  },
  settings: (m: MerchantRow) => settingsOf(m),
  apiKeys: (m: MerchantRow, _: unknown, ctx: MerchantContext) => ctx.merchants.listApiKeys(m.id),
  // The ledger, balances and webhook endpoints have no rows until those features land: empty,
  // never invented.
  balances: () => [],
  ledger: () => ({ nodes: [], pageInfo: { hasNextPage: false, endCursor: null } }),
  webhookEndpoints: () => [],
};
