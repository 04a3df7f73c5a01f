import { randomUUID } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Bus } from '@cpg/core/bus';
import { codecFor } from '@cpg/chains/codecs';
import { type EntityManager, writeOutbox } from '@cpg/core/db';
import { AppError, type Identity, type MerchantIdentity, badInput, conflict, notFound, unavailable } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import { SCHEMA } from '../../migrations';
import { AddressEntity, type AddressRow } from '../entities';
import type { Catalogue, CatalogueNetwork } from '../domain/catalogue';
import { decodeCursor, encodeCursor, pageSize } from '../domain/cursor';
import {
  type ColdWalletStatus,
  type OperatorAction,
  effectiveColdStatus,
  initialColdStatus,
  isColdWalletStatus,
  operatorDecision,
} from '../domain/cold-wallets';
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
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface AddressServiceOptions {
  /** How long a screened-ALLOW cold wallet waits before it is usable (COLD_WALLET_COOLING_OFF_HOURS). */
  coolingOffHours: number;
  screenTimeoutMs: number;
}

export const DEFAULT_ADDRESS_OPTIONS: AddressServiceOptions = { coolingOffHours: 24, screenTimeoutMs: 5000 };

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
    private readonly options: AddressServiceOptions = DEFAULT_ADDRESS_OPTIONS,
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
    try {
      return await this.createAddressOnce(caller, input);
    } catch (err) {
      // A derived or generated address that someone already holds (e.g. registered as their COLD
      // wallet) is never given a second owner; nothing was stored (the counter rolled back too).
      if (err instanceof UniqueConstraintViolationException && /address already has an owner/.test(err.message)) {
        this.log?.error({ network: input.networkId, merchantId: caller.merchantId }, 'a new address is already held by another merchant; refused');
        throw conflict('this address is already registered on this gateway');
      }
      throw err;
    }
  }

  private async createAddressOnce(caller: MerchantIdentity, input: CreateAddressInput): Promise<AddressRow> {
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
        family: network.family,
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
        family: network.family,
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

  /**
   * A COLD wallet is where the collector forwards funds out of the hot side, so it is registered
   * like a withdrawal destination (the resolver requires WITHDRAWALS_WRITE): the address must not
   * belong to anyone else (CONFLICT), compliance screens it as an outgoing destination (BLOCK:
   * FORBIDDEN with the reasons, nothing stored; REVIEW: stored PENDING_REVIEW for the operator;
   * no answer: UNAVAILABLE, nothing stored), and it is usable only after the cooling-off period or
   * the operator's approval. The registration is announced (`address.cold_wallet_updated`, which
   * the merchant's webhooks send as `cold_wallet.registered`).
   */
  async registerColdWallet(caller: MerchantIdentity, input: RegisterColdWalletInput): Promise<AddressRow> {
    const network = this.enabledNetwork(input.networkId);
    const label = normaliseLabel(input.label);
    if (input.address.length > 200) throw badInput('invalid address: too long to be an address', { field: 'address' });
    const checked = codecFor(network.family).validateAddress(network, input.address.trim());
    if (!checked.valid) throw badInput(`invalid ${network.id} address: ${checked.reason ?? 'not an address'}`, { field: 'address', reason: checked.reason });
    const normalized = checked.normalized ?? input.address.trim();
    const served = servedByWallet(network);
    const key = { merchantId: caller.merchantId, networkId: network.id, address: normalized };

    // Known already: answered before anything is screened or stored.
    const known = await this.knownHolder(caller.merchantId, network, normalized);
    if (known) return known;

    const id = randomUUID();
    const screening = await this.screenDestination(caller.merchantId, network, normalized, id);
    if (screening.decision === 'BLOCK') {
      const reasons = screening.reasons.length ? screening.reasons : ['blocked by compliance screening'];
      throw new AppError('FORBIDDEN', `this address may not receive funds: ${reasons.join('; ')}`, { field: 'address', reasons });
    }
    const now = new Date();
    const start = initialColdStatus(screening.decision, now, this.options.coolingOffHours)!;
    try {
      const row = await this.em.fork().transactional(async (tx) => {
        const row = tx.create(AddressEntity, {
          id,
          ...key,
          family: network.family,
          type: 'COLD',
          mode: served.mode,
          networks: served.networks,
          coins: served.coins,
          label,
          account: null,
          derivationIndex: null,
          keyRequestId: null,
          signerKeyId: null,
          createdAt: now,
          coldStatus: start.status,
          usableFrom: start.usableFrom,
          coldReasons: screening.reasons,
          coldDecidedAt: null,
        });
        await tx.flush();
        await this.announce(tx, row);
        await this.announceColdWallet(tx, row, 'registered', now);
        return row;
      });
      this.onCommitted();
      return row;
    } catch (err) {
      // A concurrent registration of the same address won the insert: answer as if it had come first.
      if (!(err instanceof UniqueConstraintViolationException)) throw err;
      const winner = await this.knownHolder(caller.merchantId, network, normalized);
      if (!winner) throw err;
      return winner;
    }
  }

  /**
   * The caller's existing COLD row for this address on this network (a repeat registration), or
   * null when the address is new; CONFLICT when anyone else holds it, or the caller holds it as a
   * wallet with keys here (not a cold wallet).
   */
  private async knownHolder(merchantId: string, network: CatalogueNetwork, address: string): Promise<AddressRow | null> {
    const em = this.em.fork();
    const [owner] = await em.execute<{ merchant_id: string }[]>(`select merchant_id from "${SCHEMA}".address_owners where family = ? and address = ?`, [
      network.family,
      address,
    ]);
    if (!owner) return null;
    // Deliberately the same answer whoever holds it: which merchant is nobody else's business.
    if (owner.merchant_id !== merchantId) throw conflict('this address is already registered on this gateway', { field: 'address' });
    const mine = await em.find(AddressEntity, { merchantId, family: network.family, address }, { orderBy: { createdAt: 'asc', id: 'asc' } });
    const keyed = mine.find((r) => r.type !== 'COLD');
    if (keyed) throw conflict(`this address is already one of your ${keyed.type} addresses`, { field: 'address' });
    return mine.find((r) => r.networkId === network.id) ?? null;
  }

  /** Compliance screens the wallet as an outgoing destination; no answer refuses the registration. */
  private async screenDestination(merchantId: string, network: CatalogueNetwork, address: string, addressId: string) {
    try {
      return await this.bus.request(
        'compliance.screen',
        {
          merchantId,
          networkId: network.id,
          address,
          direction: 'OUT',
          coinId: network.nativeCoin.id,
          amount: '0',
          subjectRef: `cold_wallet:${addressId}`,
        },
        this.options.screenTimeoutMs,
      );
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, network: network.id }, 'cold wallet screening failed');
      throw unavailable('compliance screening is not available right now; the cold wallet was not registered, try again shortly');
    }
  }

  /** The operator approves (usable at once) or rejects a COLD wallet; announced like a registration. */
  async decideColdWallet(id: string, action: OperatorAction): Promise<AddressRow> {
    if (!UUID.test(id)) throw notFound('cold wallet');
    const now = new Date();
    const result = await this.em.fork().transactional(async (tx) => {
      const row = await tx.findOne(AddressEntity, { id: id.toLowerCase() }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!row || row.type !== 'COLD' || !isColdWalletStatus(row.coldStatus)) throw notFound('cold wallet');
      const current = effectiveColdStatus(row.coldStatus, row.usableFrom ?? null, now);
      const decision = operatorDecision(current, action);
      if (!decision.ok) throw badInput(decision.reason, { field: 'id' });
      if (!decision.changed && row.coldStatus === decision.status) return { row, changed: false };
      row.coldStatus = decision.status;
      row.usableFrom = null;
      row.coldDecidedAt = now;
      await tx.flush();
      await this.announceColdWallet(tx, row, action === 'approve' ? 'approved' : 'rejected', now);
      return { row, changed: true };
    });
    if (result.changed) this.onCommitted();
    return result.row;
  }

  private async announceColdWallet(tx: EntityManager, a: AddressRow, event: 'registered' | 'approved' | 'rejected', at: Date): Promise<void> {
    await writeOutbox(
      tx,
      SCHEMA,
      'address.cold_wallet_updated',
      {
        addressId: a.id,
        merchantId: a.merchantId,
        networkId: a.networkId,
        address: a.address,
        event,
        status: a.coldStatus as ColdWalletStatus,
        usableFrom: a.usableFrom ? a.usableFrom.toISOString() : null,
        at: at.toISOString(),
      },
      { key: a.id },
    );
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
