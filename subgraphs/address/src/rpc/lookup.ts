import type { ServiceDeps } from '@cpg/core/http';
import { SCHEMA } from '../../migrations';
import type { Catalogue } from '../domain/catalogue';
import { coldWalletUsable, effectiveColdStatus, isColdWalletStatus } from '../domain/cold-wallets';

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
    // An address has one owner (address_owners); the asking merchant's row first still, for rows
    // from before that rule.
    const [row] = await deps.orm.em
      .fork()
      .execute<{ id: string; merchant_id: string; address: string; type: string; cold_status: string | null; usable_from: Date | null }[]>(
        `select id, merchant_id, address, type, cold_status, usable_from from "${SCHEMA}".addresses where address = ? and ? = any(networks)
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
      // The signer forwards to a COLD wallet only once it is usable (cooled off or approved).
      ...(row.type === 'COLD' && isColdWalletStatus(row.cold_status)
        ? {
            coldWalletStatus: effectiveColdStatus(row.cold_status, row.usable_from ? new Date(row.usable_from) : null, new Date()),
            coldWalletUsable: coldWalletUsable(row.cold_status, row.usable_from ? new Date(row.usable_from) : null, new Date()),
          }
        : row.type === 'COLD'
          ? { coldWalletUsable: false }
          : {}),
    };
  });
}
