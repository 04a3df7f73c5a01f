// Key material lives behind this module: only workers/signer and workers/collector import it.
export * from './envelope';
export * from './entities';
export * from './key-store';
