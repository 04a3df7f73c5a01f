import type { ServiceDeps } from '@cpg/shared/http';
import { SCHEMA } from '../../migrations';
import type { Catalogue } from '../domain/catalogue';

/**
 * `address.lookup`: the signer asks who owns an address before it signs a collector step to or
 * from it (only the merchant's own wallets may receive a sweep). The address is normalised by its
 * family's codec, as every stored address is, so equality is string equality. A network the
 * address serves counts (a CROSS address serves every EVM network). Public data only.
 */
export function serveAddressLookup(deps: Pick<ServiceDeps, 'bus' | 'orm'>, catalogue: Catalogue): void {
  deps.bus.reply('address.lookup', async ({ networkId, address, merchantId }) => {
    const checked = catalogue.validate(networkId, address.trim());
    if (!checked.valid) return { found: false as const };
    const normalized = checked.normalized ?? address.trim();
    // The asking merchant's row first: a COLD wallet is registered by address, so another
    // merchant may have registered the same string too.
    const [row] = await deps.orm.em.fork().execute<{ id: string; merchant_id: string; address: string; type: string }[]>(
      `select id, merchant_id, address, type from "${SCHEMA}".addresses where address = ? and ? = any(networks)
        order by (merchant_id = ?::uuid) desc, created_at, id limit 1`,
      [normalized, networkId, merchantId ?? null],
    );
    if (!row) return { found: false as const };
    return {
      found: true as const,
      addressId: row.id,
      merchantId: row.merchant_id,
      networkId,
      address: row.address,
      type: row.type as 'USER' | 'HOT' | 'COLD' | 'TOKENS_COLLECTOR',
    };
  });
}
