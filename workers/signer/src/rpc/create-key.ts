import type { Bus } from '@cpg/core/bus';
import type { KeyStore } from '@cpg/chains/keys';
import type { HotWallets } from '../withdrawals/hot-wallets';
import { networkOf } from './network';

/**
 * signer.create_key: the key stays sealed here; only its id and address are answered. A merchant
 * has one HOT wallet per network: every HOT request for the pair answers that wallet (made on
 * the first one, with its requestId), so withdrawals and createAddress(type: HOT) agree.
 */
export function serveCreateKey(bus: Bus, keys: KeyStore, hotWallets?: HotWallets): void {
  bus.reply('signer.create_key', async ({ merchantId, networkId, purpose, requestId }) => {
    const network = networkOf(networkId);
    if (purpose === 'HOT' && hotWallets) {
      const existing = await hotWallets.find(merchantId, network.id);
      if (existing) return { keyId: existing.keyId, address: existing.address };
      const w = await hotWallets.ensure(merchantId, network, requestId);
      return { keyId: w.keyId, address: w.address };
    }
    return keys.createKey(merchantId, network, purpose, requestId);
  });
}
