import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Bus } from '@cpg/core/bus';
import type { EntityManager } from '@cpg/core/db';
import { type Identity, type MerchantIdentity, badInput, conflict } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import { AddressEntity, type AddressRow } from '../entities';
import type { Catalogue, CatalogueNetwork } from '../domain/catalogue';
import { decodeCursor, encodeCursor, pageSize } from '../domain/cursor';
import type { OperatorAction } from '../domain/cold-wallets';
import { type AddressMode, type AddressType, isAddressMode, normaliseLabel, servedByUserAddress, servedByWallet } from '../domain/modes';
import { storedAddressMode } from './address-store';
import { type ColdWalletOptions, ColdWalletRegistry, type RegisterColdWalletInput } from './cold-wallet-registry';
import { KeyedAddresses } from './keyed-addresses';

export type { RegisterColdWalletInput } from './cold-wallet-registry';

export interface CreateAddressInput {
  networkId: string;
  coinId?: string | null;
  type?: AddressType | null;
  label?: string | null;
}

export type AddressServiceOptions = ColdWalletOptions;

export const DEFAULT_ADDRESS_OPTIONS: AddressServiceOptions = { coolingOffHours: 24, screenTimeoutMs: 5000 };

/**
 * Address use cases: addresses with keys (keyed-addresses.ts), COLD wallets
 * (cold-wallet-registry.ts), and reads. `onCommitted` wakes the outbox relay after a commit that
 * announced something.
 */
export class AddressService {
  private readonly keyed: KeyedAddresses;
  private readonly coldWallets: ColdWalletRegistry;

  constructor(
    private readonly em: EntityManager,
    private readonly catalogue: Catalogue,
    bus: Pick<Bus, 'request'>,
    onCommitted: () => void = () => undefined,
    private readonly log?: Logger,
    options: AddressServiceOptions = DEFAULT_ADDRESS_OPTIONS,
  ) {
    this.keyed = new KeyedAddresses(em, bus, onCommitted, log);
    this.coldWallets = new ColdWalletRegistry(em, bus, onCommitted, options, log);
  }

  enabledNetwork(networkId: string): CatalogueNetwork {
    const network = this.catalogue.network(networkId);
    if (!network) throw badInput(`unknown network "${networkId}"`, { field: 'networkId' });
    if (!network.enabled) throw badInput(`network ${networkId} is not enabled on this gateway: no addresses can be created on it`, { field: 'networkId' });
    return network;
  }

  async addressMode(merchantId: string): Promise<AddressMode> {
    const mode = await storedAddressMode(this.em, merchantId);
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
        return this.keyed.createUserAddress(caller.merchantId, network, served, label);
      }
      case 'HOT':
      case 'TOKENS_COLLECTOR':
        if (type === 'TOKENS_COLLECTOR' && network.coins.length < 2) {
          throw badInput(`network ${network.id} has no tokens to collect`, { field: 'type' });
        }
        return this.keyed.createSignerAddress(caller.merchantId, network, type, servedByWallet(network, input.coinId), label);
      case 'COLD':
        throw badInput('cold wallets hold no keys here: register them with registerColdWallet', { field: 'type' });
      default:
        throw badInput(`unknown address type ${String(type)}`, { field: 'type' });
    }
  }

  /** See ColdWalletRegistry.register; the resolver requires WITHDRAWALS_WRITE. */
  async registerColdWallet(caller: MerchantIdentity, input: RegisterColdWalletInput): Promise<AddressRow> {
    return this.coldWallets.register(caller.merchantId, this.enabledNetwork(input.networkId), input);
  }

  /** The operator approves (usable at once) or rejects a COLD wallet; announced like a registration. */
  async decideColdWallet(id: string, action: OperatorAction): Promise<AddressRow> {
    return this.coldWallets.decide(id, action);
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
