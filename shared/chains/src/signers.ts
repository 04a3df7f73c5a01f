// The signers' entry point: building and signing transactions with private keys, for every chain
// family. Only workers/signer imports it (lint: eslint.config.mjs, "Signers and keys"), together
// with ./keys; everything keyless (fees, coin selection, broadcasting, tx status) lives in
// modules of its own that any service may use.
export { BitcoinSigner, BitcoinSignerError, signMultisigPsbt, type BitcoinSignerOptions } from './bitcoin/signer';
export { EvmSigner, ERC20, BATCH, waitForReceipt, type EvmSignerOptions } from './evm/signer';
export { TronSigner, type TronSignerOptions } from './tron/signer';
