import type { Bus } from '@cpg/core/bus';
import type { KeyStore } from '@cpg/chains/keys';
import { networkOf } from './network';

/** signer.account_xpub: only the public account key leaves the process. */
export function serveAccountXpub(bus: Bus, keys: KeyStore): void {
  bus.reply('signer.account_xpub', async ({ merchantId, networkId }) => keys.accountXpub(merchantId, networkOf(networkId)));
}
