// The watchers' entry point: the tracker's read side of every chain family. Only the tracker
// imports it (DESIGN: watchers are tracker-only); the signer reads its own transactions' status
// through ./bitcoin/tx-status and ./tron/tx-status instead.
export { BitcoinWatcher } from './bitcoin/watcher';
export { EvmWatcher, type EvmWatcherOptions, type HeadSocket } from './evm/watcher';
export { TronWatcher, type TronWatcherOptions } from './tron/watcher';
