import { type EntityManager, writeOutbox } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';
import type { ColdWalletStatus } from '../domain/cold-wallets';
import type { AddressType } from '../domain/modes';
import type { AddressRow } from '../entities';

// Outbox rows of the address service, written in the caller's transaction with the change they
// announce; the relay publishes them after the commit.

/** `address.created`: the tracker starts watching the address. */
export async function announceCreated(tx: EntityManager, a: AddressRow): Promise<void> {
  await writeOutbox(
    tx,
    SCHEMA,
    'address.created',
    { addressId: a.id, merchantId: a.merchantId, address: a.address, type: a.type as AddressType, networks: a.networks, coins: a.coins },
    { key: a.id },
  );
}

/** `address.cold_wallet_updated`: the merchant's webhooks send it as `cold_wallet.<event>`. */
export async function announceColdWallet(tx: EntityManager, a: AddressRow, event: 'registered' | 'approved' | 'rejected', at: Date): Promise<void> {
  await writeOutbox(
    tx,
    SCHEMA,
    'address.cold_wallet_updated',
    {
      addressId: a.id,
      merchantId: a.merchantId,
      networkId: a.networkId,
      address: a.address,
      event,
      status: a.coldStatus as ColdWalletStatus,
      usableFrom: a.usableFrom ? a.usableFrom.toISOString() : null,
      at: at.toISOString(),
    },
    { key: a.id },
  );
}
