import { randomUUID } from 'node:crypto';
import type { ServiceDeps } from '@cpg/core/http';
import { SCHEMA } from '../../migrations';
import type { Catalogue } from '../domain/catalogue';
import { AddressService } from '../services/addresses';

/**
 * `address.ensure_hot`: the withdrawal subgraph makes sure the merchant's HOT wallet of a network
 * is one of our addresses before it pays from it, so the tracker watches it (a refill is seen and
 * wakes the signer; change back to it is internal). The signer hands back the same wallet it pays
 * from. Idempotent: an existing HOT address is answered as is.
 */
export function serveEnsureHot(deps: ServiceDeps, catalogue: Catalogue): void {
  const { bus, orm, relay, log } = deps;
  bus.reply('address.ensure_hot', async ({ merchantId, networkId }) => {
    const em = orm.em.fork();
    const existing = async () =>
      (
        await em.execute<{ id: string; address: string }[]>(
          `select id, address from "${SCHEMA}".addresses where merchant_id = ? and type = 'HOT' and ? = any(networks) order by created_at limit 1`,
          [merchantId, networkId],
        )
      )[0];
    const found = await existing();
    if (found) return { addressId: found.id, address: found.address };
    const service = new AddressService(em.fork(), catalogue, bus, () => relay.kick(), log);
    // The merchant's own call, made on its behalf: only the merchant id is used.
    const row = await service.createAddress({ kind: 'merchant', merchantId, keyId: randomUUID(), scopes: ['ADDRESSES_WRITE'] }, { networkId, type: 'HOT' });
    return { addressId: row.id, address: row.address };
  });
}
