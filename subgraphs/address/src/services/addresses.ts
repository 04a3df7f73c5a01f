import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Bus } from '@cpg/shared/bus';
import { codecFor } from '@cpg/shared/chains/codecs';
import { type EntityManager, writeOutbox } from '@cpg/shared/db';
import { type Identity, type MerchantIdentity, badInput, conflict, unavailable } from '@cpg/shared/graphql';
import type { Logger } from '@cpg/shared/logger';
import { SCHEMA } from '../../migrations';
import { AddressEntity, type AddressRow } from '../entities';
import type { Catalogue, CatalogueNetwork } from '../domain/catalogue';
import { decodeCursor, encodeCursor, pageSize } from '../domain/cursor';
import {
  type AddressMode,
  type AddressType,
  type Served,
  derivationAccount,
  isAddressMode,
  normaliseLabel,
  servedByUserAddress,
  servedByWallet,
} from '../domain/modes';

export interface CreateAddressInput {
  networkId: string;
  coinId?: string | null;
  type?: AddressType | null;
  label?: string | null;
}

export interface RegisterColdWalletInput {
  networkId: string;
  address: string;
  label?: string | null;
}

// Creating a merchant's seed on first ask may take the signer a moment; a caller may retry.
const SIGNER_TIMEOUT_MS = 10_000;

type KeyPurpose = 'HOT' | 'TOKENS_COLLECTOR';

/**
 * Address use cases. Signer requests run before any transaction opens, so a slow signer never
 * holds a database connection or a lock; each address is written with its `address.created`
 * outbox row in one transaction, and `onCommitted` wakes the relay.
 */
export class AddressService {
  constructor(
    private readonly em: EntityManager,
    private readonly catalogue: Catalogue,
    private readonly bus: Pick<Bus, 'request'>,
    private readonly onCommitted: () => void = () => undefined,
    private readonly log?: Logger,
  ) {}

  enabledNetwork(networkId: string): CatalogueNetwork {
    const network = this.catalogue.network(networkId);
    if (!network) throw badInput(`unknown network "${networkId}"`, { field: 'networkId' });
    if (!network.enabled) throw badInput(`network ${networkId} is not enabled on this gateway: no addresses can be created on it`, { field: 'networkId' });
    return network;
  }

  async addressMode(merchantId: string): Promise<AddressMode> {
    const rows = await this.em.execute<{ address_mode: string }[]>(`select address_mode from "${SCHEMA}".merchant_settings where merchant_id = ?`, [
      merchantId,
    ]);
    const mode = rows[0]?.address_mode;
    // Before the merchant's first event arrives, the merchant subgraph's own default applies.
    return isAddressMode(mode) ? mode : 'SINGLE';
  }

  async createAddress(caller: MerchantIdentity, input: CreateAddressInput): Promise<AddressRow> {
    const network = this.enabledNetwork(input.networkId);
    const label = normaliseLabel(input.label);
    const type = input.type ?? 'USER';
    switch (type) {
      case 'USER': {
        const served = servedByUserAddress(this.catalogue.list(), network, await this.addressMode(caller.merchantId), input.coinId);
        return this.createUserAddress(caller.merchantId, network, served, label);
      }
      case 'HOT':
      case 'TOKENS_COLLECTOR':
        if (type === 'TOKENS_COLLECTOR' && network.coins.length < 2) {
          throw badInput(`network ${network.id} has no tokens to collect`, { field: 'type' });
        }
        return this.createSignerAddress(caller.merchantId, network, type, servedByWallet(network, input.coinId), label);
      case 'COLD':
        throw badInput('cold wallets hold no keys here: register them with registerColdWallet', { field: 'type' });
      default:
        throw badInput(`unknown address type ${String(type)}`, { field: 'type' });
    }
  }

  private async createUserAddress(merchantId: string, network: CatalogueNetwork, served: Served, label: string | null): Promise<AddressRow> {
    const xpub = await this.accountXpub(merchantId, network);
    const account = derivationAccount(network);
    const codec = codecFor(network.family);
    const row = await this.em.fork().transactional(async (tx) => {
      await tx.execute(`insert into "${SCHEMA}".derivation_counters (merchant_id, account) values (?, ?) on conflict do nothing`, [merchantId, account]);
      // The lock serialises allocations per account; a rollback (failed insert) leaves the counter
      // untouched, so no index is ever skipped.
      const [counter] = await tx.execute<{ next_index: number }[]>(
        `select next_index from "${SCHEMA}".derivation_counters where merchant_id = ? and account = ? for update`,
        [merchantId, account],
      );
      const index = counter!.next_index;
      const derived = codec.deriveAddress(network, xpub, index);
      const checked = codec.validateAddress(network, derived.address);
      if (!checked.valid) throw new Error(`derived address failed its own codec: ${checked.reason}`);
      const address = tx.create(AddressEntity, {
        id: randomUUID(),
        merchantId,
        networkId: network.id,
        address: checked.normalized ?? derived.address,
        type: 'USER',
        mode: served.mode,
        networks: served.networks,
        coins: served.coins,
        label,
        account,
        derivationIndex: index,
        keyRequestId: null,
        signerKeyId: null,
        createdAt: new Date(),
      });
      await tx.flush();
      await tx.execute(`update "${SCHEMA}".derivation_counters set next_index = next_index + 1 where merchant_id = ? and account = ?`, [merchantId, account]);
      await this.announce(tx, address);
      return address;
    });
    this.onCommitted();
    return row;
  }

  /** The account xpub never changes for a merchant and network, so the signer is asked once. */
  private async accountXpub(merchantId: string, network: CatalogueNetwork): Promise<string> {
    const cached = await this.em.execute<{ xpub: string }[]>(`select xpub from "${SCHEMA}".account_xpubs where merchant_id = ? and network_id = ?`, [
      merchantId,
      network.id,
    ]);
    if (cached[0]) return cached[0].xpub;
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
    await this.em.execute(`insert into "${SCHEMA}".account_xpubs (merchant_id, network_id, xpub, path) values (?, ?, ?, ?) on conflict do nothing`, [
      merchantId,
      network.id,
      reply.xpub,
      reply.path,
    ]);
    const stored = await this.em.execute<{ xpub: string }[]>(`select xpub from "${SCHEMA}".account_xpubs where merchant_id = ? and network_id = ?`, [
      merchantId,
      network.id,
    ]);
    return stored[0]!.xpub;
  }

  private async createSignerAddress(
    merchantId: string,
    network: CatalogueNetwork,
    purpose: KeyPurpose,
    served: Served,
    label: string | null,
  ): Promise<AddressRow> {
    const requestId = await this.pendingKeyRequest(merchantId, network.id, purpose);
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
      await tx.execute(`select id from "${SCHEMA}".key_requests where id = ? for update`, [requestId]);
      const existing = await tx.findOne(AddressEntity, { keyRequestId: requestId });
      if (existing) return { address: existing, created: false };
      // The signer keeps one HOT wallet per merchant and network: asked again, it answers the
      // same address, which is then already ours.
      const same = await tx.findOne(AddressEntity, { merchantId, networkId: network.id, address: checked.normalized ?? reply.address });
      if (same) {
        await tx.execute(`update "${SCHEMA}".key_requests set completed_at = now() where id = ?`, [requestId]);
        return { address: same, created: false };
      }
      const address = tx.create(AddressEntity, {
        id: randomUUID(),
        merchantId,
        networkId: network.id,
        address: checked.normalized ?? reply.address,
        type: purpose,
        mode: served.mode,
        networks: served.networks,
        coins: served.coins,
        label,
        account: null,
        derivationIndex: null,
        keyRequestId: requestId,
        signerKeyId: reply.keyId,
        createdAt: new Date(),
      });
      await tx.flush();
      await tx.execute(`update "${SCHEMA}".key_requests set completed_at = now() where id = ?`, [requestId]);
      await this.announce(tx, address);
      return { address, created: true };
    });
    if (row.created) this.onCommitted();
    return row.address;
  }

  /** Persisted before the signer is asked, so a retry after a lost reply reuses the same request. */
  private async pendingKeyRequest(merchantId: string, networkId: string, purpose: KeyPurpose): Promise<string> {
    await this.em.execute(
      `insert into "${SCHEMA}".key_requests (id, merchant_id, network_id, purpose) values (?, ?, ?, ?) on conflict (merchant_id, network_id, purpose) where completed_at is null do nothing`,
      [randomUUID(), merchantId, networkId, purpose],
    );
    const rows = await this.em.execute<{ id: string }[]>(
      `select id from "${SCHEMA}".key_requests where merchant_id = ? and network_id = ? and purpose = ? and completed_at is null`,
      [merchantId, networkId, purpose],
    );
    // Completed between our insert and select by a concurrent call: start a fresh request.
    if (!rows[0]) return this.pendingKeyRequest(merchantId, networkId, purpose);
    return rows[0].id;
  }

  async registerColdWallet(caller: MerchantIdentity, input: RegisterColdWalletInput): Promise<AddressRow> {
    const network = this.enabledNetwork(input.networkId);
    const label = normaliseLabel(input.label);
    if (input.address.length > 200) throw badInput('invalid address: too long to be an address', { field: 'address' });
    const checked = codecFor(network.family).validateAddress(network, input.address.trim());
    if (!checked.valid) throw badInput(`invalid ${network.id} address: ${checked.reason ?? 'not an address'}`, { field: 'address', reason: checked.reason });
    const normalized = checked.normalized ?? input.address.trim();
    const served = servedByWallet(network);
    const key = { merchantId: caller.merchantId, networkId: network.id, address: normalized };
    const existingOrConflict = (row: AddressRow) => {
      if (row.type !== 'COLD') throw conflict(`this address is already one of your ${row.type} addresses`);
      return row;
    };
    try {
      const result = await this.em.fork().transactional(async (tx) => {
        const existing = await tx.findOne(AddressEntity, key);
        if (existing) return { row: existingOrConflict(existing), created: false };
        const row = tx.create(AddressEntity, {
          id: randomUUID(),
          ...key,
          type: 'COLD',
          mode: served.mode,
          networks: served.networks,
          coins: served.coins,
          label,
          account: null,
          derivationIndex: null,
          keyRequestId: null,
          signerKeyId: null,
          createdAt: new Date(),
        });
        await tx.flush();
        await this.announce(tx, row);
        return { row, created: true };
      });
      if (result.created) this.onCommitted();
      return result.row;
    } catch (err) {
      // A concurrent registration of the same address won the insert: answer with its row.
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
      const winner = await this.em.fork().findOne(AddressEntity, key);
      if (!winner) throw err;
      return existingOrConflict(winner);
    }
  }

  private async announce(tx: EntityManager, a: AddressRow): Promise<void> {
    await writeOutbox(
      tx,
      SCHEMA,
      'address.created',
      { addressId: a.id, merchantId: a.merchantId, address: a.address, type: a.type as AddressType, networks: a.networks, coins: a.coins },
      { key: a.id },
    );
  }

  /** Merchants see their own addresses; the operator sees every merchant's. */
  async findVisible(identity: Identity, id: string): Promise<AddressRow | null> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id)) return null;
    const row = await this.em.findOne(AddressEntity, { id });
    if (!row) return null;
    if (identity.kind === 'merchant' && identity.merchantId !== row.merchantId) return null;
    return row;
  }

  async list(
    merchantId: string | null,
    filter: { networkId?: string | null; type?: string | null } | null | undefined,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<{ nodes: AddressRow[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }> {
    const limit = pageSize(first);
    const where: Record<string, unknown> = {};
    if (merchantId) where.merchantId = merchantId;
    if (filter?.networkId) where.networkId = filter.networkId;
    if (filter?.type) where.type = filter.type;
    if (after) {
      const pos = decodeCursor(after);
      where.$or = [{ createdAt: { $gt: pos.createdAt } }, { createdAt: pos.createdAt, id: { $gt: pos.id } }];
    }
    const rows = await this.em.find(AddressEntity, where, { orderBy: { createdAt: 'asc', id: 'asc' }, limit: limit + 1 });
    const nodes = rows.slice(0, limit);
    const last = nodes[nodes.length - 1];
    return { nodes, pageInfo: { hasNextPage: rows.length > limit, endCursor: last ? encodeCursor(last) : null } };
  }
}
