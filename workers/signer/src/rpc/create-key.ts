import type { Bus } from '@cpg/shared/bus';
import type { KeyStore } from '@cpg/shared/keys';
import { networkOf } from './network';

/** signer.create_key: the key stays sealed here; only its id and address are answered. */
export function serveCreateKey(bus: Bus, keys: KeyStore): void {
  bus.reply('signer.create_key', async ({ merchantId, networkId, purpose, requestId }) => keys.createKey(merchantId, networkOf(networkId), purpose, requestId));
}
