import type { AddressResolvers, AddressType } from '../generated/resolvers-types';
import { effectiveColdStatus, isColdWalletStatus } from '../domain/cold-wallets';
import { addressId, ownerOnly, resolveAddressReference } from './projection';

export const Address: AddressResolvers = {
  /**
   * Federation entry: merchants resolve only their own addresses (another merchant's is null,
   * as if it did not exist), the operator any; a checkout reader gets the public face of the
   * payment's address through a sealed key (see projection.ts).
   */
  __resolveReference: resolveAddressReference,
  id: addressId,
  // The column is text, but its check constraint admits exactly the enum's values.
  type: ownerOnly('Address.type', (a) => a.type as AddressType),
  createdAt: ownerOnly('Address.createdAt', (a) => a.createdAt),
  network: (a, _, ctx) => {
    const network = ctx.catalogue.network(a.networkId);
    if (!network) throw new Error(`network ${a.networkId} is no longer configured`);
    return network;
  },
  // Coins dropped from configuration since the address was made are no longer served.
  coins: (a, _, ctx) => a.coins.flatMap((id) => ctx.catalogue.coin(id) ?? []),
  label: ownerOnly('Address.label', (a) => a.label ?? null),
  coldWalletStatus: ownerOnly('Address.coldWalletStatus', (a) =>
    a.type === 'COLD' && isColdWalletStatus(a.coldStatus) ? effectiveColdStatus(a.coldStatus, a.usableFrom ?? null, new Date()) : null,
  ),
  usableFrom: ownerOnly('Address.usableFrom', (a) =>
    a.type === 'COLD' && a.coldStatus === 'COOLING_OFF' && a.usableFrom && a.usableFrom.getTime() > Date.now() ? a.usableFrom : null,
  ),
};
