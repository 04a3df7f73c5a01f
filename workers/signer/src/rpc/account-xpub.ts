import type { Bus } from '@cpg/shared/bus';
import type { KeyStore } from '@cpg/shared/keys';
import { networkOf } from './network';

/** signer.account_xpub: only the public account key leaves the process. */
export function serveAccountXpub(bus: Bus, keys: KeyStore): void {
  bus.reply('signer.account_xpub', async ({ merchantId, networkId }) => keys.accountXpub(merchantId, networkOf(networkId)));
}
