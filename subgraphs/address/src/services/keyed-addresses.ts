import type { Bus } from '@cpg/core/bus';
import { codecFor } from '@cpg/chains/codecs';
import type { EntityManager } from '@cpg/core/db';
import { unavailable } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import type { CatalogueNetwork } from '../domain/catalogue';
import { type Served, derivationAccount } from '../domain/modes';
import { AddressEntity, type AddressRow } from '../entities';
import {
  type KeyPurpose,
  advanceDerivation,
  completeKeyRequest,
  lockKeyRequest,
  lockNextDerivation,
  pendingKeyRequest,
  storeXpub,
  storedXpub,
} from './address-store';
import { storeNewAddress } from './new-address';

// Creating a merchant's seed on first ask may take the signer a moment; a caller may retry.
const SIGNER_TIMEOUT_MS = 10_000;

/**
 * Addresses whose keys the signer holds: USER addresses derived from the merchant's account xpub,
 * HOT and TOKENS_COLLECTOR wallets the signer creates. Signer requests run before any
 * transaction opens, so a slow signer never holds a database connection or a lock; each address
 * is written with its `address.created` outbox row in one transaction, and `onCommitted` wakes
 * the relay.
 */
export class KeyedAddresses {
  constructor(
    private readonly em: EntityManager,
    private readonly bus: Pick<Bus, 'request'>,
    private readonly onCommitted: () => void,
    private readonly log?: Logger,
  ) {}

  /** The next address of the merchant's account on the network; never the same index twice. */
  async createUserAddress(merchantId: string, network: CatalogueNetwork, served: Served, label: string | null): Promise<AddressRow> {
    const xpub = await this.accountXpub(merchantId, network);
    const account = derivationAccount(network);
    const codec = codecFor(network.family);
    const row = await this.em.fork().transactional(async (tx) => {
      const index = await lockNextDerivation(tx, merchantId, account);
      const derived = codec.deriveAddress(network, xpub, index);
      const checked = codec.validateAddress(network, derived.address);
      if (!checked.valid) throw new Error(`derived address failed its own codec: ${checked.reason}`);
      const address = await storeNewAddress(tx, {
        merchantId,
        network,
        address: checked.normalized ?? derived.address,
        type: 'USER',
        served,
        label,
        account,
        derivationIndex: index,
      });
      await advanceDerivation(tx, merchantId, account);
      return address;
    });
    this.onCommitted();
    return row;
  }

  /** The account xpub never changes for a merchant and network, so the signer is asked once. */
  private async accountXpub(merchantId: string, network: CatalogueNetwork): Promise<string> {
    const cached = await storedXpub(this.em, merchantId, network.id);
    if (cached) return cached;
    let reply;
    try {
      reply = await this.bus.request('signer.account_xpub', { merchantId, networkId: network.id }, SIGNER_TIMEOUT_MS);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, network: network.id }, 'signer did not give an account xpub');
      throw unavailable('the key service is not answering; try again shortly');
    }
    // Refuse a key we cannot derive from before caching it (e.g. a private key or a wrong network).
    try {
      codecFor(network.family).deriveAddress(network, reply.xpub, 0);
    } catch (err) {
      this.log?.error({ err: (err as Error).message, network: network.id }, 'signer returned an unusable account xpub');
      throw unavailable('the key service returned an unusable account key');
    }
    await storeXpub(this.em, merchantId, network.id, reply.xpub, reply.path);
    return (await storedXpub(this.em, merchantId, network.id))!;
  }

  /**
   * A wallet the signer creates a key for. Idempotent per pending key request: a retry after a
   * lost reply, or a concurrent call, gets the same address.
   */
  async createSignerAddress(merchantId: string, network: CatalogueNetwork, purpose: KeyPurpose, served: Served, label: string | null): Promise<AddressRow> {
    const requestId = await pendingKeyRequest(this.em, merchantId, network.id, purpose);
    let reply;
    try {
      reply = await this.bus.request('signer.create_key', { merchantId, networkId: network.id, purpose, requestId }, SIGNER_TIMEOUT_MS);
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, network: network.id, requestId }, 'signer did not create the key');
      throw unavailable('the key service is not answering; try again shortly (the same key will be used)');
    }
    const checked = codecFor(network.family).validateAddress(network, reply.address);
    if (!checked.valid) {
      this.log?.error({ reason: checked.reason, network: network.id, requestId }, 'signer returned an invalid address');
      throw unavailable('the key service returned an invalid address');
    }
    const row = await this.em.fork().transactional(async (tx) => {
      // Concurrent calls sharing one pending request get the same key: the first one records it.
      await lockKeyRequest(tx, requestId);
      const existing = await tx.findOne(AddressEntity, { keyRequestId: requestId });
      if (existing) return { address: existing, created: false };
      // The signer keeps one HOT wallet per merchant and network: asked again, it answers the
      // same address, which is then already ours.
      const same = await tx.findOne(AddressEntity, { merchantId, networkId: network.id, address: checked.normalized ?? reply.address });
      if (same) {
        await completeKeyRequest(tx, requestId);
        return { address: same, created: false };
      }
      const address = await storeNewAddress(tx, {
        merchantId,
        network,
        address: checked.normalized ?? reply.address,
        type: purpose,
        served,
        label,
        keyRequestId: requestId,
        signerKeyId: reply.keyId,
      });
      await completeKeyRequest(tx, requestId);
      return { address, created: true };
    });
    if (row.created) this.onCommitted();
    return row.address;
  }
}
