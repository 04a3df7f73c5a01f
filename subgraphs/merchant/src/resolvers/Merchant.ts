import { forbidden, requireMerchant } from '@cpg/shared/graphql';
import type { MerchantContext } from '../context';
import type { MerchantRow } from '../entities';
import { isUuid } from '../domain/ids';
import { settingsOf } from '../services/merchants';
import { toBalanceNode, toLedgerConnection } from '../ledger/graphql';

/** The private face of a merchant: its own key (READ) or the operator. */
function requireOwner(m: MerchantRow, ctx: MerchantContext): void {
  if (ctx.identity.kind === 'operator') return;
  if (ctx.identity.kind !== 'merchant' || ctx.identity.merchantId !== m.id) throw forbidden('visible to the merchant only');
  requireMerchant(ctx.identity, 'READ');
}

export const Merchant = {
  /**
   * Federation entry: another subgraph returned a Merchant by id. A merchant key sees only its
   * own. Anonymous callers arrive only through `checkout(token)` (the API exposes no other path
   * to a Merchant without a key), and see the public face: id and name; every other field
   * checks the caller below.
   */
  async __resolveReference(ref: { id: string }, ctx: MerchantContext) {
    if (ctx.identity.kind === 'merchant' && ctx.identity.merchantId !== ref.id) throw forbidden('not your merchant');
    return isUuid(ref.id) ? ctx.merchants.getMerchant(ref.id) : null;
  },
  settings: (m: MerchantRow, _: unknown, ctx: MerchantContext) => (requireOwner(m, ctx), settingsOf(m)),
  apiKeys: (m: MerchantRow, _: unknown, ctx: MerchantContext) => (requireOwner(m, ctx), ctx.merchants.listApiKeys(m.id)),
  balances: async (m: MerchantRow, _: unknown, ctx: MerchantContext) => (requireOwner(m, ctx), (await ctx.ledger.balances(m.id)).map(toBalanceNode)),
  ledger: async (m: MerchantRow, args: { first?: number | null; after?: string | null; coinId?: string | null }, ctx: MerchantContext) => (
    requireOwner(m, ctx),
    toLedgerConnection(await ctx.ledger.history(m.id, args))
  ),
  webhookEndpoints: (m: MerchantRow, _: unknown, ctx: MerchantContext) => (requireOwner(m, ctx), ctx.webhooks.list(m.id)),
};
