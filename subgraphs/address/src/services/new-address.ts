import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@cpg/core/db';
import type { CatalogueNetwork } from '../domain/catalogue';
import type { AddressType, Served } from '../domain/modes';
import { AddressEntity, type AddressRow } from '../entities';
import { announceCreated } from './address-events';

/** The columns only some kinds of address fill: key origin (USER, HOT, TOKENS_COLLECTOR) or cold-wallet state (COLD). */
type KindColumns = Partial<
  Pick<AddressRow, 'account' | 'derivationIndex' | 'keyRequestId' | 'signerKeyId' | 'coldStatus' | 'usableFrom' | 'coldReasons' | 'coldDecidedAt'>
>;

export interface NewAddress extends KindColumns {
  /** Given when something (a screening subject) already refers to the address before it is stored. */
  id?: string;
  merchantId: string;
  network: CatalogueNetwork;
  /** Normalised by the family codec. */
  address: string;
  type: AddressType;
  served: Served;
  label: string | null;
  createdAt?: Date;
}

/**
 * Every kind of address is stored the same way, in the caller's transaction: the row, then its
 * `address.created` outbox row so the tracker starts watching it once the transaction commits.
 */
export async function storeNewAddress(tx: EntityManager, input: NewAddress): Promise<AddressRow> {
  const { id, network, served, createdAt, ...rest } = input;
  const row = tx.create(AddressEntity, {
    account: null,
    derivationIndex: null,
    keyRequestId: null,
    signerKeyId: null,
    ...rest,
    id: id ?? randomUUID(),
    networkId: network.id,
    family: network.family,
    mode: served.mode,
    networks: served.networks,
    coins: served.coins,
    createdAt: createdAt ?? new Date(),
  });
  await tx.flush();
  await announceCreated(tx, row);
  return row;
}
