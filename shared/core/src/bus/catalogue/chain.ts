import { z } from 'zod';
import { ADDRESS_TYPES, COLD_WALLET_STATUSES, baseUnits } from './common';

const chainTransfer = z.object({
  network: z.string(),
  txHash: z.string(),
  /** vout, log index, or trace position: unique per (txHash, coinId). */
  index: z.number().int().nonnegative(),
  from: z.string().nullable(),
  to: z.string(),
  coinId: z.string(),
  amount: baseUnits,
  blockHeight: z.number().int().nullable(),
  blockHash: z.string().nullable(),
  /** Depth of the block (1 = in the tip block); 0 in the mempool. */
  confirmations: z.number().int().nonnegative(),
  /** The watched address that received it. */
  addressId: z.string().uuid(),
  merchantId: z.string().uuid(),
  /** Between two of our own addresses (sweep, top-up, withdrawal change): never a deposit. */
  internal: z.boolean(),
});

/** Addresses (published by the address subgraph) and what the tracker sees on chain. */
export const chainEvents = {
  /** A new address to watch. CROSS addresses list every EVM network they serve. */
  'address.created': z.object({
    addressId: z.string().uuid(),
    merchantId: z.string().uuid(),
    /** Normalised form (checksummed EVM, lower-case bech32, base58 Tron). */
    address: z.string(),
    type: z.enum(ADDRESS_TYPES),
    networks: z.array(z.string()).min(1),
    coins: z.array(z.string()),
  }),

  /**
   * A merchant's COLD wallet (a destination outside the hot side) was registered or its status
   * changed (key = addressId). Published by the address subgraph through its outbox; the collector
   * keeps the status (it forwards only to an ACTIVE wallet, or a COOLING_OFF one whose `usableFrom`
   * has passed) and the merchant's webhook dispatcher announces it (`cold_wallet.*`).
   */
  'address.cold_wallet_updated': z.object({
    addressId: z.string().uuid(),
    merchantId: z.string().uuid(),
    networkId: z.string(),
    address: z.string(),
    /** registered (screened, stored), approved (by the operator), rejected (by the operator) */
    event: z.enum(['registered', 'approved', 'rejected']),
    status: z.enum(COLD_WALLET_STATUSES),
    /** When a COOLING_OFF wallet becomes usable; null while under review or once decided. */
    usableFrom: z.string().nullable(),
    at: z.string(),
  }),

  // Chain events: subject `chain.<network>.transfer.<kind>.<key>` (see subjectStem). One message
  // id per (network, txHash, index, kind, blockHash), so re-emission after a crash is dropped.
  'chain.transfer.seen': chainTransfer,
  'chain.transfer.confirmed': chainTransfer,
  'chain.transfer.reorged': chainTransfer,

  /** Tracker's periodic view of a network: feeds Network.status. */
  'chain.status': z.object({
    network: z.string(),
    available: z.boolean(),
    scannedHeight: z.number().int().nullable(),
    tipHeight: z.number().int().nullable(),
    lagBlocks: z.number().int().nullable(),
    at: z.string(),
    error: z.string().optional(),
  }),
} as const;
