import { randomUUID } from 'node:crypto';
import type { ServiceDeps } from '@cpg/core/http';
import type { EntityManager } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import type { Catalogue } from '../domain/catalogue';
import { AddressService } from '../services/addresses';

interface Allocated {
  addressId: string;
  address: string;
  networkId: string;
}

async function addressById(em: EntityManager, id: string): Promise<Allocated | null> {
  const rows = await em.execute<{ id: string; address: string; network_id: string }[]>(
    `select id, address, network_id from "${SCHEMA}".addresses where id = ?`,
    [id],
  );
  const r = rows[0];
  return r ? { addressId: r.id, address: r.address, networkId: r.network_id } : null;
}

/**
 * `address.allocate`: the payment subgraph's way to get a USER address for a payment. A lost
 * reply makes the payment retry with the same request id, so the allocation is recorded under it
 * and answered again; a customer's address is kept per coin and reused for their next payments.
 */
export function serveAddressAllocation(deps: ServiceDeps, catalogue: Catalogue): void {
  const { bus, orm, relay, log } = deps;
  bus.reply('address.allocate', async ({ merchantId, coinId, requestId, customerId }) => {
    const em = orm.em.fork();
    const recorded = async (): Promise<Allocated | null> => {
      const rows = await em.execute<{ address_id: string }[]>(
        `select address_id from "${SCHEMA}".payment_allocations where request_id = ? and merchant_id = ?`,
        [requestId, merchantId],
      );
      return rows[0] ? addressById(em, rows[0].address_id) : null;
    };
    const done = await recorded();
    if (done) return done;

    const coin = catalogue.coin(coinId);
    if (!coin) throw new Error(`unknown coin ${coinId}`);

    let addressId: string | undefined;
    if (customerId) {
      const rows = await em.execute<{ address_id: string }[]>(
        `select address_id from "${SCHEMA}".customer_addresses where merchant_id = ? and customer_id = ? and coin_id = ?`,
        [merchantId, customerId, coinId],
      );
      addressId = rows[0]?.address_id;
    }
    if (!addressId) {
      const service = new AddressService(em.fork(), catalogue, bus, () => relay.kick(), log);
      // The merchant's own call, made on its behalf: only the merchant id is used.
      const row = await service.createAddress(
        { kind: 'merchant', merchantId, keyId: randomUUID(), scopes: ['ADDRESSES_WRITE'] },
        { networkId: coin.network.id, coinId },
      );
      addressId = row.id;
      if (customerId) {
        // A concurrent first payment of the same customer may have won: everyone uses the winner.
        await em.execute(
          `insert into "${SCHEMA}".customer_addresses (merchant_id, customer_id, coin_id, address_id) values (?, ?, ?, ?) on conflict do nothing`,
          [merchantId, customerId, coinId, addressId],
        );
        const rows = await em.execute<{ address_id: string }[]>(
          `select address_id from "${SCHEMA}".customer_addresses where merchant_id = ? and customer_id = ? and coin_id = ?`,
          [merchantId, customerId, coinId],
        );
        addressId = rows[0]!.address_id;
      }
    }
    await em.execute(`insert into "${SCHEMA}".payment_allocations (request_id, merchant_id, address_id) values (?, ?, ?) on conflict do nothing`, [
      requestId,
      merchantId,
      addressId,
    ]);
    const answer = await recorded();
    if (!answer) throw new Error(`allocation ${requestId} belongs to another merchant`);
    return answer;
  });
}
