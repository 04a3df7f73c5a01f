import { PUBLIC_FACE, PublicRefs, forbidden, isPublicFace, publicFace, requireMerchant } from '@cpg/core/graphql';
import type { MerchantContext } from '../context';
import type { MerchantRow } from '../entities';
import type { MerchantResolvers } from '../generated/resolvers-types';
import { isUuid } from '../domain/ids';
import { settingsOf } from '../services/merchants';
import { toBalanceNode, toLedgerConnection } from '../ledger/graphql';

/** The private face of a merchant: its own key (READ) or the operator. */
function requireOwner(m: MerchantRow, ctx: MerchantContext): void {
  // Served through a sealed key (a checkout reader): the name only, whoever asks.
  if (isPublicFace(m)) throw forbidden('visible to the merchant only');
  if (ctx.identity.kind === 'operator') return;
  if (ctx.identity.kind !== 'merchant' || ctx.identity.merchantId !== m.id) throw forbidden('visible to the merchant only');
  requireMerchant(ctx.identity, 'READ');
}

export const Merchant: MerchantResolvers = {
  /**
   * Federation entry: another subgraph returned a Merchant by id. A merchant key sees only its
   * own, the operator any. A checkout reader (anonymous, or a key of another merchant) arrives
   * with a key the payment subgraph sealed (PublicRefs) and gets the public face: the name, and
   * that sealed key as `id`; every other field refuses. A bare id is never served anonymously.
   */
  async __resolveReference(ref, ctx) {
    if (PublicRefs.isSealed(ref.id)) {
      const id = ctx.refs.open('Merchant', ref.id);
      const row = id && isUuid(id) ? await ctx.merchants.getMerchant(id) : null;
      return row ? publicFace(row, ref.id) : null;
    }
    if (ctx.identity.kind === 'anonymous') throw forbidden('a merchant is visible to its own keys and the operator only');
    if (ctx.identity.kind === 'merchant' && ctx.identity.merchantId !== ref.id) throw forbidden('not your merchant');
    return isUuid(ref.id) ? ctx.merchants.getMerchant(ref.id) : null;
  },
  id: (m) => (isPublicFace(m) ? m[PUBLIC_FACE] : m.id),
  createdAt: (m, _, ctx) => (requireOwner(m, ctx), m.createdAt),
  settings: (m, _, ctx) => (requireOwner(m, ctx), settingsOf(m)),
  apiKeys: (m, _, ctx) => (requireOwner(m, ctx), ctx.merchants.listApiKeys(m.id)),
  balances: async (m, _, ctx) => (requireOwner(m, ctx), (await ctx.ledger.balancesWithScreening(m.id)).map(toBalanceNode)),
  ledger: async (m, args, ctx) => (requireOwner(m, ctx), toLedgerConnection(await ctx.ledger.history(m.id, args))),
  webhookEndpoints: (m, _, ctx) => (requireOwner(m, ctx), ctx.webhooks.list(m.id)),
};
