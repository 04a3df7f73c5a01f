import { HDNodeWallet, Mnemonic } from 'ethers';
import type { SigningKey } from '../types';

/**
 * Anvil's publicly known dev accounts. They live here, not in the devkit, because the signer
 * deploys dev-only contracts from one of them on a dev chain (chain id 31337) and runtime code
 * never imports the devkit. No real network accepts these keys as anything but public.
 */
export const ANVIL_MNEMONIC = 'test test test test test test test test test test test junk';

let anvilAccounts: HDNodeWallet | undefined;

/** Anvil's default account `index` (m/44'/60'/0'/0/index). Account 0 is the faucet and USDT holder. */
export function anvilAccount(index: number): SigningKey {
  // The mnemonic's seed costs a 2048-round PBKDF2: derive the parent node once.
  anvilAccounts ??= HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ANVIL_MNEMONIC), "m/44'/60'/0'/0");
  const wallet = anvilAccounts.deriveChild(index);
  return { address: wallet.address, privateKey: Buffer.from(wallet.privateKey.slice(2), 'hex') };
}
