import { badInput } from '@cpg/core/graphql';
import { codecFor } from '@cpg/chains/codecs';
import type { QueryResolvers } from '../../generated/resolvers-types';
import { toRiskAssessment } from '../../services/screening';
import { actorOf } from '../actor';

/** Screens any address on demand; the answer is stored like every decision (no alert, nothing held). */
export const screenAddress: QueryResolvers['screenAddress'] = async (_, args, ctx) => {
  const actor = actorOf(ctx, 'READ');
  const network = ctx.screening.network(args.networkId);
  const v = codecFor(network.family).validateAddress(network, args.address.trim());
  if (!v.valid) throw badInput(`not a ${network.name} address: ${v.reason ?? 'invalid'}`, { field: 'address' });
  const address = v.normalized ?? args.address.trim();
  const pre = await ctx.screening.prefetch({ networkId: network.id, address, coinId: null, amount: null });
  const { row } = await ctx.em.fork().transactional((tx) =>
    ctx.screening.screen(
      tx,
      {
        merchantId: actor.kind === 'merchant' ? actor.merchantId : null,
        networkId: network.id,
        address,
        direction: 'ADDRESS',
        coinId: null,
        amount: null,
        subjectRef: `address:${network.id}:${address}`,
        actor: actor.kind === 'merchant' ? `merchant:${actor.merchantId}` : 'operator',
      },
      pre,
    ),
  );
  return toRiskAssessment(row);
};
