import { z } from 'zod';
import { paymentSnapshotReply, paymentSnapshotRequest } from '../../webhooks/payment-snapshot';
import { withdrawalSnapshotReply, withdrawalSnapshotRequest } from '../../webhooks/withdrawal-snapshot';
import { ADDRESS_TYPES, COLD_WALLET_STATUSES, SCREENING_DECISIONS, baseUnits } from './common';
import { batchItems } from './withdrawals';

/** A retry repeats its request id (a payment id, a key request, a collector step): replies are idempotent per id. */
const requestId = z.string().min(8).max(100);
/** A USER address's account index: a non-hardened BIP32 child index. */
const accountIndex = z.number().int().min(0).max(2147483647);
/** Where a consolidation sends its funds: what collect_sign signs is what verify_step compares. */
const consolidationOutputs = z
  .array(z.object({ to: z.string(), amount: baseUnits }))
  .min(1)
  .max(10);

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
   * A fresh USER address for a payment (or the customer's reused one), allocated by the address
   * subgraph in the merchant's mode. Idempotent per requestId (the payment id).
   */
  'address.allocate': {
    request: z.object({ merchantId: z.string().uuid(), coinId: z.string(), requestId, customerId: z.string().max(200).optional() }),
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
  /**
   * A standalone key for a HOT or TOKENS_COLLECTOR address; only the address comes back.
   * Idempotent per requestId: a retried request returns the same address.
   */
  'signer.create_key': {
    request: z.object({
      merchantId: z.string().uuid(),
      networkId: z.string(),
      purpose: z.enum(['HOT', 'TOKENS_COLLECTOR']),
      requestId,
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
      decision: z.enum(SCREENING_DECISIONS),
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
        requestId,
        from: z.discriminatedUnion('type', [
          z.object({ type: z.literal('USER'), index: accountIndex, address: z.string() }),
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
        requestId,
        inputs: z
          .array(z.object({ txid: z.string().regex(/^[0-9a-f]{64}$/), vout: z.number().int().nonnegative(), index: accountIndex }))
          .min(1)
          .max(500),
        outputs: consolidationOutputs,
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
        type: z.enum(ADDRESS_TYPES),
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
        type: z.enum(ADDRESS_TYPES),
        /** COLD only: its status, and whether funds may be forwarded to it now (ACTIVE, or cooled off). */
        coldWalletStatus: z.enum(COLD_WALLET_STATUSES).optional(),
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
        requestId,
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
        requestId,
        merchantId: z.string().uuid(),
        networkId: z.string(),
        coinId: z.string(),
        inputs: z
          .array(z.object({ txid: z.string(), vout: z.number().int().nonnegative(), from: z.string() }))
          .min(1)
          .max(500),
        outputs: consolidationOutputs,
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
      items: batchItems,
    }),
    reply: z.discriminatedUnion('ok', [z.object({ ok: z.literal(true) }), z.object({ ok: z.literal(false), reason: z.string() })]),
  },
} as const;
