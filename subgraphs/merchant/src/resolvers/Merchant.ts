import { forbidden } from '@cpg/shared/graphql';
import type { MerchantContext } from '../context';
import type { MerchantRow } from '../entities';
import { isUuid } from '../domain/ids';
import { settingsOf } from '../services/merchants';
import { toBalanceNode, toLedgerConnection } from '../ledger/graphql';

export const Merchant = {
  /** Federation entry: another subgraph returned a Merchant by id. Callers see only their own. */
  async __resolveReference(ref: { id: string }, ctx: MerchantContext) {
    if (ctx.identity.kind === 'merchant' && ctx.identity.merchantId !== ref.id) throw forbidden('not your merchant');
    if (ctx.identity.kind === 'anonymous') throw forbidden('not visible without an API key');
    return isUuid(ref.id) ? ctx.merchants.getMerchant(ref.id) : null;
  },
  settings: (m: MerchantRow) => settingsOf(m),
  apiKeys: (m: MerchantRow, _: unknown, ctx: MerchantContext) => ctx.merchants.listApiKeys(m.id),
  balances: async (m: MerchantRow, _: unknown, ctx: MerchantContext) => (await ctx.ledger.balances(m.id)).map(toBalanceNode),
  ledger: async (m: MerchantRow, args: { first?: number | null; after?: string | null; coinId?: string | null }, ctx: MerchantContext) =>
    toLedgerConnection(await ctx.ledger.history(m.id, args)),
  // Webhook endpoints have no rows until that feature lands: empty, never invented.
  webhookEndpoints: () => [],
};
