import type { AddressContext } from '../context';
import type { AddressRow } from '../entities';
import { effectiveColdStatus, isColdWalletStatus } from '../domain/cold-wallets';
import { addressId, ownerOnly, resolveAddressReference } from './projection';

export const Address = {
  /**
   * Federation entry: merchants resolve only their own addresses (another merchant's is null,
   * as if it did not exist), the operator any; a checkout reader gets the public face of the
   * payment's address through a sealed key (see projection.ts).
   */
  __resolveReference: resolveAddressReference,
  id: addressId,
  type: ownerOnly('Address.type', (a) => a.type),
  createdAt: ownerOnly('Address.createdAt', (a) => a.createdAt),
  network: (a: AddressRow, _: unknown, ctx: AddressContext) => ctx.catalogue.network(a.networkId),
  // Coins dropped from configuration since the address was made are no longer served.
  coins: (a: AddressRow, _: unknown, ctx: AddressContext) => a.coins.flatMap((id) => ctx.catalogue.coin(id) ?? []),
  label: ownerOnly('Address.label', (a) => a.label ?? null),
  coldWalletStatus: ownerOnly('Address.coldWalletStatus', (a: AddressRow) =>
    a.type === 'COLD' && isColdWalletStatus(a.coldStatus) ? effectiveColdStatus(a.coldStatus, a.usableFrom ?? null, new Date()) : null,
  ),
  usableFrom: ownerOnly('Address.usableFrom', (a: AddressRow) =>
    a.type === 'COLD' && a.coldStatus === 'COOLING_OFF' && a.usableFrom && a.usableFrom.getTime() > Date.now() ? a.usableFrom : null,
  ),
};
