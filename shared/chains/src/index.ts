// Types and the catalogue only: codecs, watchers and signers are imported from their own
// modules (./bitcoin/codec, ./evm/watcher, ...) so that privileges stay visible in imports.
export * from './types';
export * from './networks';
export * from './coin-catalogue';
