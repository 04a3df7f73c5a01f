import { z } from 'zod';
import { paymentSnapshotReply, paymentSnapshotRequest } from '../webhooks/payment-snapshot';
import { withdrawalSnapshotReply, withdrawalSnapshotRequest } from '../webhooks/withdrawal-snapshot';

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

/** The deposit a compliance decision is about (key `network:txHash:index`), whatever the decision. */
const depositDecision = {
  merchantId: z.string().uuid(),
  network: z.string(),
  txHash: z.string(),
  index: z.number().int().nonnegative(),
  addressId: z.string().uuid(),
  coinId: z.string(),
  amount: baseUnits,
};

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
    status: z.enum(['PENDING_REVIEW', 'COOLING_OFF', 'ACTIVE', 'REJECTED']),
    /** When a COOLING_OFF wallet becomes usable; null while under review or once decided. */
    usableFrom: z.string().nullable(),
    at: z.string(),
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
  /**
   * A withdrawal changed. Subject `withdrawal.updated.<withdrawalId>` (key = withdrawal id): the
   * gateway maps `withdrawalUpdated(id)` onto it and re-reads the withdrawal; webhooks use `event`.
   * Published by the withdrawal subgraph through its outbox.
   */
  'withdrawal.updated': z.object({
    withdrawalId: z.string().uuid(),
    merchantId: z.string().uuid(),
    /** requested, pending_approval, approved, rejected, cancelled, batched, waiting_funds, signing, broadcast, confirmed, failed */
    event: z.string(),
    status: z.string(),
  }),
  /**
   * A batch of withdrawals (one, in NONE mode) ready to be signed and sent from the merchant's HOT
   * wallet of the network. Published once per batch by the withdrawal subgraph (key = batchId);
   * consumed by the signer, which must treat a repeat of the same batchId as the same work.
   */
  'withdrawal.batch.ready': z.object({
    batchId: z.string().uuid(),
    merchantId: z.string().uuid(),
    network: z.string(),
    coinId: z.string(),
    items: z.array(z.object({ withdrawalId: z.string().uuid(), toAddress: z.string(), amount: baseUnits })).min(1),
  }),
  /**
   * The signer's progress on a batch (key = batchId). WAITING_FUNDS: the HOT wallet cannot cover it
   * yet (reason says what is missing; the signer retries when funds arrive). BROADCAST carries the
   * tx hash (a fee bump replaces it with a new hash); CONFIRMED carries the final hash, the fee paid
   * (base units of feeCoinId, the network's native coin) and confirmations; FAILED the reason and
   * means no payout was made, so the holds are released: its fee is null when nothing was spent
   * (refused before signing, rejected, dropped) and set when a mined transaction reverted and burnt
   * gas, which the merchant is then charged.
   */
  'withdrawal.batch.updated': z.object({
    batchId: z.string().uuid(),
    merchantId: z.string().uuid(),
    network: z.string(),
    coinId: z.string(),
    status: z.enum(['WAITING_FUNDS', 'SIGNING', 'BROADCAST', 'CONFIRMED', 'FAILED']),
    txHash: z.string().nullable(),
    fee: baseUnits.nullable(),
    feeCoinId: z.string().nullable(),
    reason: z.string().nullable(),
    confirmations: z.number().int().nonnegative(),
  }),
  /**
   * A ledger effect of a withdrawal, from the withdrawal subgraph's outbox to the merchant ledger
   * (key = withdrawal id; the outbox row id is derived from withdrawal id and action, so a repeat
   * is dropped). `release`: the hold goes back to available (rejected, cancelled, failed, or a
   * request that never completed: a release with no hold leaves a tombstone so a late hold is
   * refused). `settle`: `amount` left the hold to the chain; `fee` (base units of `feeCoinId`, the
   * network's native coin) is this withdrawal's share of the batch's network fee, debited from the
   * merchant's available balance of that coin. Applied once per withdrawal either way.
   */
  'withdrawal.ledger': z.object({
    withdrawalId: z.string().uuid(),
    merchantId: z.string().uuid(),
    coinId: z.string(),
    action: z.enum(['release', 'settle']),
    amount: baseUnits,
    fee: baseUnits.nullable(),
    feeCoinId: z.string().nullable(),
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
  /**
   * A compliance alert was raised or resolved (key = alertId). Webhook type `compliance.alert`;
   * `event` says which. Published by the compliance subgraph through its outbox.
   */
  'compliance.alert': z.object({
    alertId: z.string().uuid(),
    merchantId: z.string().uuid(),
    /** raised | resolved */
    event: z.enum(['raised', 'resolved']),
    /** OPEN, ALLOWED, BLOCKED */
    status: z.string(),
    decision: z.enum(['ALLOW', 'REVIEW', 'BLOCK']),
    level: z.string(),
    subject: z.string(),
    subjectRef: z.string(),
    reasons: z.array(z.string()),
  }),
  /**
   * Compliance's decision on the funds of one deposit (key = deposit reference
   * `network:txHash:index`); every screened deposit gets one. CLEAR (the sender screened ALLOW, no
   * alert): the merchant's credit, kept in `held` until a decision, becomes available; the payment
   * is not touched. HOLD (REVIEW or BLOCK, an alert): the payment goes ON_HOLD and the credit stays
   * in `held`; RELEASE (resolveAlert ALLOW): the payment resumes and the credit becomes available;
   * BLOCK (resolveAlert BLOCK): stays held. Consumers apply each (deposit, action) once.
   */
  'compliance.deposit_hold': z.discriminatedUnion('action', [
    z.object({ ...depositDecision, alertId: z.string().uuid(), action: z.enum(['HOLD', 'RELEASE', 'BLOCK']) }),
    z.object({
      ...depositDecision,
      /** No alert is raised for a clean sender. */
      alertId: z.null(),
      /** The screening that decided ALLOW. */
      assessmentId: z.string().uuid(),
      action: z.literal('CLEAR'),
    }),
  ]),
  /**
   * A merchant set its collection policy for one coin (key = merchantId). Published by
   * the address subgraph through its outbox; the collector keeps the newest (by `updatedAt`) as its
   * local copy. Amounts in base units of the coin; `coldWalletAddress` is the merchant's own COLD
   * address on the coin's network, or null (the surplus then goes to TOKENS_COLLECTOR, else HOT).
   */
  'collection.policy_updated': z.object({
    merchantId: z.string().uuid(),
    networkId: z.string(),
    coinId: z.string(),
    collectThreshold: baseUnits,
    hotTarget: baseUnits,
    coldWalletId: z.string().uuid().nullable(),
    coldWalletAddress: z.string().nullable(),
    /** Decimal fraction, 0 < r < 1, e.g. "0.02". */
    maxFeeRatio: z.string(),
    updatedAt: z.string(),
  }),
  /**
   * One step of a collector sweep plan moved (key = sweepId, the step's id). Kinds: `gas_topup`
   * (native coin from TOKENS_COLLECTOR/HOT to a USER address), `sweep` (USER -> HOT), `cold_forward`
   * (USER -> COLD or TOKENS_COLLECTOR). `fee` is in base units of `feeCoinId` (the network's native
   * coin). Statuses only move forward: PLANNED -> BROADCAST -> CONFIRMED | FAILED; consumers keep the
   * furthest one seen.
   */
  'collection.sweep_updated': z.object({
    sweepId: z.string().uuid(),
    planId: z.string().uuid(),
    merchantId: z.string().uuid(),
    network: z.string(),
    coinId: z.string(),
    kind: z.enum(['gas_topup', 'sweep', 'cold_forward']),
    fromAddresses: z.array(z.string()).min(1),
    toAddress: z.string(),
    amount: baseUnits,
    fee: baseUnits.nullable(),
    feeCoinId: z.string(),
    txHash: z.string().nullable(),
    status: z.enum(['PLANNED', 'BROADCAST', 'CONFIRMED', 'FAILED']),
    createdAt: z.string(),
  }),
  /**
   * What of one merchant's coin the collector leaves at USER addresses for now, and why (key =
   * merchantId): the whole list for (merchantId, coinId), replacing the previous one (empty: nothing
   * waits). Published when an address, its reason or amount changes, or its fee estimate moves by
   * more than a tenth. `reason` is a sentence with the figures (fee against amount and maxFeeRatio,
   * threshold, gas top-up); `estimatedFee` is in base units of `feeCoinId` (the native coin).
   * Newest `at` wins. The address subgraph serves it as `awaitingCollection`.
   */
  'collection.awaiting_updated': z.object({
    merchantId: z.string().uuid(),
    networkId: z.string(),
    coinId: z.string(),
    feeCoinId: z.string(),
    entries: z
      .array(
        z.object({
          addressId: z.string().uuid(),
          address: z.string(),
          amount: baseUnits,
          code: z.enum(['below_threshold', 'fee_ratio', 'dust', 'funder_short', 'held', 'gas_topup_pending', 'no_hot_wallet', 'no_price', 'node_unavailable']),
          reason: z.string().max(2000),
          estimatedFee: baseUnits.nullable(),
        }),
      )
      .max(2000),
    at: z.string(),
  }),
  /**
   * The network fee one collector step's transaction paid (key = stepId), published once the step
   * is final on chain: CONFIRMED, or FAILED after it was mined (a reverted transaction still burns
   * its gas). `fee` is exact (EVM: gasUsed x effectiveGasPrice from the receipt; Bitcoin family:
   * inputs - outputs), in base units of `feeCoinId` (the network's native coin). The merchant
   * subgraph charges it to the merchant's ledger once per step.
   */
  'collection.fee': z.object({
    stepId: z.string().uuid(),
    planId: z.string().uuid(),
    merchantId: z.string().uuid(),
    network: z.string(),
    kind: z.enum(['gas_topup', 'sweep', 'cold_forward']),
    feeCoinId: z.string(),
    fee: baseUnits,
    txHash: z.string(),
    status: z.enum(['CONFIRMED', 'FAILED']),
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
  /**
   * The gateway's API-key check. Never the key itself: its public prefix and a proof derived from
   * it (shapes as in shared/graphql/api-key-proof). Patterns, not enums: a refused value is then
   * never echoed in the parse error that the replier logs and sends back.
   */
  'merchant.verify_api_key': {
    request: z.object({ prefix: z.string().regex(/^[a-z2-7]{8}$/), proof: z.string().regex(/^[0-9a-f]{64}$/) }),
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
  /**
   * The merchant's HOT address of a network, created through the signer on first ask and
   * announced (address.created) so the tracker watches it: refills are seen, change is internal.
   * Asked by the withdrawal subgraph before a withdrawal; idempotent.
   */
  'address.ensure_hot': {
    request: z.object({ merchantId: z.string().uuid(), networkId: z.string() }),
    reply: z.object({ addressId: z.string().uuid(), address: z.string() }),
  },
  /**
   * The payment / withdrawal as the API shows it, asked by the merchant's webhook dispatcher
   * (events carry identifiers only) and by refunds. Read-only; scoped to the asking merchant.
   */
  'payment.snapshot': { request: paymentSnapshotRequest, reply: paymentSnapshotReply },
  'withdrawal.snapshot': { request: withdrawalSnapshotRequest, reply: withdrawalSnapshotReply },
  'signer.create_key': {
    request: z.object({
      merchantId: z.string().uuid(),
      networkId: z.string(),
      purpose: z.enum(['HOT', 'TOKENS_COLLECTOR']),
      requestId: z.string().min(8).max(100),
    }),
    reply: z.object({ keyId: z.string().uuid(), address: z.string() }),
  },
  /**
   * Reserves a withdrawal's amount in the merchant ledger (available -> held). Idempotent per
   * withdrawalId: a repeat answers as the first did. A hold whose withdrawal was already released
   * (a late or retried request) is refused with RELEASED and takes nothing.
   */
  'ledger.hold': {
    request: z.object({ merchantId: z.string().uuid(), coinId: z.string(), amount: baseUnits, withdrawalId: z.string().uuid() }),
    reply: z.discriminatedUnion('ok', [
      z.object({ ok: z.literal(true) }),
      z.object({ ok: z.literal(false), reason: z.enum(['INSUFFICIENT_FUNDS', 'RELEASED']) }),
    ]),
  },
  /** KYT screening of one counterparty address for a deposit (IN) or a withdrawal (OUT). */
  'compliance.screen': {
    request: z.object({
      merchantId: z.string().uuid(),
      networkId: z.string(),
      address: z.string(),
      direction: z.enum(['IN', 'OUT']),
      coinId: z.string(),
      amount: baseUnits,
      subjectRef: z.string(),
    }),
    reply: z.object({
      assessmentId: z.string(),
      decision: z.enum(['ALLOW', 'REVIEW', 'BLOCK']),
      score: z.number().int(),
      level: z.string(),
      reasons: z.array(z.string()),
    }),
  },
  /**
   * Signs one collector step (never broadcasts; only the signed raw transaction and its hash come
   * back, never a key). `transfer`: one native or token transfer from a merchant's USER address
   * (its account index) or from its HOT / TOKENS_COLLECTOR key (keyId); `address` must be what
   * that key controls. `sweepAll` sends the native balance less the fee (amount is then ignored).
   * `consolidation` (Bitcoin family): spends the given outputs of the merchant's USER addresses
   * (each with its account index) into the outputs given, the rest being the fee. Not idempotent:
   * the collector stores the reply before it broadcasts, and re-broadcasts that on a retry.
   */
  'signer.collect_sign': {
    request: z.discriminatedUnion('kind', [
      z.object({
        kind: z.literal('transfer'),
        merchantId: z.string().uuid(),
        networkId: z.string(),
        requestId: z.string().min(8).max(100),
        from: z.discriminatedUnion('type', [
          z.object({ type: z.literal('USER'), index: z.number().int().min(0).max(2147483647), address: z.string() }),
          z.object({ type: z.literal('KEY'), keyId: z.string().uuid(), address: z.string() }),
        ]),
        to: z.string(),
        coinId: z.string(),
        amount: baseUnits,
        sweepAll: z.boolean(),
      }),
      z.object({
        kind: z.literal('consolidation'),
        merchantId: z.string().uuid(),
        networkId: z.string(),
        requestId: z.string().min(8).max(100),
        inputs: z
          .array(z.object({ txid: z.string().regex(/^[0-9a-f]{64}$/), vout: z.number().int().nonnegative(), index: z.number().int().min(0).max(2147483647) }))
          .min(1)
          .max(500),
        outputs: z
          .array(z.object({ to: z.string(), amount: baseUnits }))
          .min(1)
          .max(10),
      }),
    ]),
    reply: z.object({ txHash: z.string(), raw: z.string(), fee: baseUnits, amount: baseUnits }),
  },
  /**
   * What the collector needs to know about one of the merchant's addresses to have it signed for:
   * its type, its account index (USER) or its signer key id (HOT, TOKENS_COLLECTOR). Read-only.
   */
  'address.describe': {
    request: z.object({ addressId: z.string().uuid() }),
    reply: z.discriminatedUnion('found', [
      z.object({
        found: z.literal(true),
        merchantId: z.string().uuid(),
        networkId: z.string(),
        address: z.string(),
        type: z.enum(['USER', 'HOT', 'COLD', 'TOKENS_COLLECTOR']),
        derivationIndex: z.number().int().nullable(),
        signerKeyId: z.string().uuid().nullable(),
      }),
      z.object({ found: z.literal(false) }),
    ]),
  },
  /**
   * The merchant's ledger per coin, for reconciliation with the chain (read-only, no locks; it may
   * trail a posting in flight). Balances are signed base units; `debt` is zero or negative.
   * `collectionFees` is what collector fees (`collection.fee`) have been charged for that coin.
   */
  'ledger.balances': {
    request: z.object({ merchantId: z.string().uuid() }),
    reply: z.object({
      balances: z.array(
        z.object({
          coinId: z.string(),
          available: z.string(),
          pending: z.string(),
          held: z.string(),
          debt: z.string(),
          externalChain: z.string(),
          externalFees: z.string(),
          collectionFees: z.string(),
          /** In cold storage: moved out of available by confirmed cold forwards (outside the hot side). */
          custody: z.string().optional(),
        }),
      ),
    }),
  },
  /**
   * Who owns an address on a network: the signer asks before it signs a collector step (every
   * destination must be a wallet of the same merchant, every source one of its addresses); meant
   * to be asked by the signer and the collector only. The address is normalised by its network
   * family's codec first, so any spelling the codec accepts finds it. `merchantId`, when given,
   * picks that merchant's row when several merchants registered the same string (a COLD wallet is
   * registered by address); without it, or when that merchant has none, any owner is answered.
   * An unknown network or an invalid address is `found: false`. Read-only.
   */
  'address.lookup': {
    request: z.object({ networkId: z.string().max(100), address: z.string().max(200), merchantId: z.string().uuid().optional() }),
    reply: z.discriminatedUnion('found', [
      z.object({ found: z.literal(false) }),
      z.object({
        found: z.literal(true),
        addressId: z.string().uuid(),
        merchantId: z.string().uuid(),
        /** The network asked for (the address serves it; a CROSS address serves several). */
        networkId: z.string(),
        /** Normalised form, as stored. */
        address: z.string(),
        type: z.enum(['USER', 'HOT', 'COLD', 'TOKENS_COLLECTOR']),
        /** COLD only: its status, and whether funds may be forwarded to it now (ACTIVE, or cooled off). */
        coldWalletStatus: z.enum(['PENDING_REVIEW', 'COOLING_OFF', 'ACTIVE', 'REJECTED']).optional(),
        coldWalletUsable: z.boolean().optional(),
      }),
    ]),
  },
  /**
   * Asked by the signer while it handles a `signer.collect_sign`, answered by the collector: is this
   * exactly a step the collector planned and persisted, and is it still waiting to be signed
   * (PLANNED)? `requestId` is the collect_sign requestId (the step id); the other fields are the
   * signer's own reading of the request (for a consolidation, `from` of each input is the address
   * the signer derived for its account index; `coinId` is the network's native coin). `ok: true`
   * only when every field equals the stored step. Read-only. When the signer refuses a step (not
   * confirmed here, or a destination that is not the merchant's own wallet), collect_sign fails
   * with an error that starts with `refused:`; the collector fails that step for good.
   */
  'collector.verify_step': {
    request: z.discriminatedUnion('kind', [
      z.object({
        kind: z.literal('transfer'),
        requestId: z.string().min(8).max(100),
        merchantId: z.string().uuid(),
        networkId: z.string(),
        coinId: z.string(),
        from: z.string(),
        to: z.string(),
        amount: baseUnits,
        sweepAll: z.boolean(),
      }),
      z.object({
        kind: z.literal('consolidation'),
        requestId: z.string().min(8).max(100),
        merchantId: z.string().uuid(),
        networkId: z.string(),
        coinId: z.string(),
        inputs: z
          .array(z.object({ txid: z.string(), vout: z.number().int().nonnegative(), from: z.string() }))
          .min(1)
          .max(500),
        outputs: z
          .array(z.object({ to: z.string(), amount: baseUnits }))
          .min(1)
          .max(10),
      }),
    ]),
    reply: z.discriminatedUnion('ok', [z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), reason: z.string() })]),
  },
  /**
   * Asked by the signer for each `withdrawal.batch.ready` it has not stored yet, answered by the
   * withdrawal subgraph: does this batch exist, in a state it may still be sent in (BATCHED or
   * SIGNING), with exactly these withdrawals (ids, destinations, amounts), merchant, network and
   * coin? Items are compared as a set. Read-only. A refusal is final for that message (the signer
   * drops it); no answer (timeout) is transient (the signer retries the message).
   */
  'withdrawal.verify_batch': {
    request: z.object({
      batchId: z.string().uuid(),
      merchantId: z.string().uuid(),
      network: z.string(),
      coinId: z.string(),
      items: z
        .array(z.object({ withdrawalId: z.string().uuid(), toAddress: z.string(), amount: baseUnits }))
        .min(1)
        .max(1000),
    }),
    reply: z.discriminatedUnion('ok', [z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), reason: z.string() })]),
  },
} as const;
export type RpcName = keyof typeof rpcSchemas;
export type RpcRequest<N extends RpcName> = z.infer<(typeof rpcSchemas)[N]['request']>;
export type RpcReply<N extends RpcName> = z.infer<(typeof rpcSchemas)[N]['reply']>;
