import { z } from 'zod';

const baseUnits = z.string().regex(/^\d+$/, 'base units as a decimal integer string');

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

/**
 * The catalogue of events on JetStream: one zod schema per event type. The event type is also
 * the subject's stem; an optional suffix (an entity id) may follow, e.g. `payment.updated.<id>`.
 * Later features add their events here, so producers and consumers share one definition.
 */
export const eventSchemas = {
  'merchant.created': z.object({ merchantId: z.string().uuid(), name: z.string() }),
  'merchant.settings_updated': z.object({ merchantId: z.string().uuid(), settings: z.record(z.unknown()) }),
  'merchant.api_key_created': z.object({ merchantId: z.string().uuid(), keyId: z.string().uuid(), scopes: z.array(z.string()) }),
  'merchant.api_key_revoked': z.object({ merchantId: z.string().uuid(), keyId: z.string().uuid() }),

  /** A new address to watch. CROSS addresses list every EVM network they serve. */
  'address.created': z.object({
    addressId: z.string().uuid(),
    merchantId: z.string().uuid(),
    /** Normalised form (checksummed EVM, lower-case bech32, base58 Tron). */
    address: z.string(),
    type: z.enum(['USER', 'HOT', 'COLD', 'TOKENS_COLLECTOR']),
    networks: z.array(z.string()).min(1),
    coins: z.array(z.string()),
  }),

  // Chain events: subject `chain.<network>.transfer.<kind>.<key>` (see subjectStem). One message
  // id per (network, txHash, index, kind, blockHash), so re-emission after a crash is dropped.
  'chain.transfer.seen': chainTransfer,
  'chain.transfer.confirmed': chainTransfer,
  'chain.transfer.reorged': chainTransfer,
  /**
   * A payment changed (status, amounts, deposits). Subject `payment.updated.<paymentId>`: the
   * gateway maps `paymentUpdated(id)` subscriptions onto it and re-reads the payment through the
   * supergraph, so the event carries identifiers, not a snapshot.
   */
  'payment.updated': z.object({
    paymentId: z.string().uuid(),
    merchantId: z.string().uuid(),
    /** sha256 of the checkout token, hex: lets the gateway serve `paymentUpdated(checkoutToken)`. */
    checkoutTokenHash: z.string(),
    /** created, deposit_seen, partially_paid, confirming, paid, overpaid, expired, paid_late, deposit_reorged, on_hold, cancelled */
    event: z.string(),
    status: z.string(),
  }),
  /**
   * Ledger effects of deposits, emitted by the payment subgraph, consumed by the merchant ledger.
   * Key per deposit `network:txHash:index`; kind says which posting applies.
   */
  'payment.deposit_ledger': z.object({
    merchantId: z.string().uuid(),
    paymentId: z.string().uuid().nullable(),
    coinId: z.string(),
    amount: baseUnits,
    /** seen | confirmed | reorged | unsolicited_confirmed */
    kind: z.enum(['seen', 'confirmed', 'reorged', 'unsolicited_confirmed']),
    /** network:txHash:index */
    depositKey: z.string(),
    /** Whether the deposit had been credited as confirmed before a reorg took it away. */
    wasConfirmed: z.boolean(),
  }),
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

/** Events whose subject carries the network after `chain.` so consumers can filter per network. */
export function subjectStem(type: string, data: unknown): string {
  if (type.startsWith('chain.')) {
    const network = (data as { network?: unknown })?.network;
    if (typeof network !== 'string' || !/^[a-z0-9-]+$/.test(network)) throw new Error(`${type} needs a network id`);
    return `chain.${network}.${type.slice('chain.'.length)}`;
  }
  return type;
}

/** The subject pattern of a type regardless of data (for consumer filters). */
export function subjectPattern(type: string): string {
  return type.startsWith('chain.') ? `chain.*.${type.slice('chain.'.length)}` : type;
}

export type EventType = keyof typeof eventSchemas;
export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>;

/** What travels on the wire: the outbox row id is the envelope id and the JetStream message id. */
export const envelopeSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  occurredAt: z.string(),
  data: z.unknown(),
});
export type Envelope<D = unknown> = { id: string; type: string; occurredAt: string; data: D };

export class UnknownEventError extends Error {}

export function validateEvent<T extends EventType>(type: T, data: unknown): EventData<T> {
  const schema = eventSchemas[type];
  if (!schema) throw new UnknownEventError(`unknown event type ${type}`);
  return schema.parse(data) as EventData<T>;
}

/**
 * Request-reply subjects (core NATS, never captured by a stream: a stream would answer a request
 * with its own publish ack). One request and one reply schema each.
 */
export const rpcSchemas = {
  'merchant.verify_api_key': {
    request: z.object({ secret: z.string().min(1).max(200) }),
    reply: z.discriminatedUnion('ok', [
      z.object({ ok: z.literal(true), merchantId: z.string().uuid(), keyId: z.string().uuid(), scopes: z.array(z.string()) }),
      z.object({ ok: z.literal(false), reason: z.string() }),
    ]),
  },
  /**
   * The merchant's account-level extended public key for a coin type (BIP44 44'/coinType'/0',
   * BIP84 for Bitcoin family). The signer creates the merchant's seed on first ask; idempotent.
   */
  'signer.account_xpub': {
    request: z.object({ merchantId: z.string().uuid(), networkId: z.string() }),
    reply: z.object({ xpub: z.string(), path: z.string() }),
  },
  /**
   * A standalone key for a HOT or TOKENS_COLLECTOR address; only the address comes back.
   * Idempotent per requestId: a retried request returns the same address.
   */
  /**
   * A fresh USER address for a payment (or the customer's reused one), allocated by the address
   * subgraph in the merchant's mode. Idempotent per requestId (the payment id).
   */
  'address.allocate': {
    request: z.object({ merchantId: z.string().uuid(), coinId: z.string(), requestId: z.string().min(8).max(100), customerId: z.string().max(200).optional() }),
    reply: z.object({ addressId: z.string().uuid(), address: z.string(), networkId: z.string() }),
  },
  'signer.create_key': {
    request: z.object({
      merchantId: z.string().uuid(),
      networkId: z.string(),
      purpose: z.enum(['HOT', 'TOKENS_COLLECTOR']),
      requestId: z.string().min(8).max(100),
    }),
    reply: z.object({ keyId: z.string().uuid(), address: z.string() }),
  },
} as const;
export type RpcName = keyof typeof rpcSchemas;
export type RpcRequest<N extends RpcName> = z.infer<(typeof rpcSchemas)[N]['request']>;
export type RpcReply<N extends RpcName> = z.infer<(typeof rpcSchemas)[N]['reply']>;
