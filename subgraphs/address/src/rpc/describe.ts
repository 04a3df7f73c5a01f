import type { ServiceDeps } from '@cpg/core/http';
import { AddressEntity } from '../entities';

/**
 * `address.describe`: the collector asks which key stands behind one of a merchant's addresses
 * (its account index for USER, its signer key id for HOT / TOKENS_COLLECTOR) before it has a step
 * signed. Public data only: indexes and key ids, never a key.
 */
export function serveAddressDescribe(deps: Pick<ServiceDeps, 'bus' | 'orm'>): void {
  deps.bus.reply('address.describe', async ({ addressId }) => {
    const row = await deps.orm.em.fork().findOne(AddressEntity, { id: addressId });
    if (!row) return { found: false as const };
    return {
      found: true as const,
      merchantId: row.merchantId,
      networkId: row.networkId,
      address: row.address,
      type: row.type as 'USER' | 'HOT' | 'COLD' | 'TOKENS_COLLECTOR',
      derivationIndex: row.derivationIndex ?? null,
      signerKeyId: row.signerKeyId ?? null,
    };
  });
}
