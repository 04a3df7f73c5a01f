import { badInput } from '@cpg/core/graphql';
import type { CatalogueNetwork } from './catalogue';

export const ADDRESS_MODES = ['SINGLE', 'COMMON', 'CROSS'] as const;
export type AddressMode = (typeof ADDRESS_MODES)[number];
export const ADDRESS_TYPES = ['USER', 'HOT', 'COLD', 'TOKENS_COLLECTOR'] as const;
export type AddressType = (typeof ADDRESS_TYPES)[number];

export function isAddressMode(v: unknown): v is AddressMode {
  return typeof v === 'string' && (ADDRESS_MODES as readonly string[]).includes(v);
}

/** What one address serves: the tracker watches it on `networks` and credits only `coins`. */
export interface Served {
  /** The mode actually applied (CROSS on a non-EVM network is COMMON). */
  mode: AddressMode;
  networks: string[];
  coins: string[];
}

/**
 * Which networks and coins a new USER address serves under the merchant's mode. `all` is the
 * whole catalogue; only enabled networks are ever served, so a CROSS address is not announced
 * on a chain nobody watches.
 */
export function servedByUserAddress(all: CatalogueNetwork[], network: CatalogueNetwork, mode: AddressMode, coinId?: string | null): Served {
  if (coinId != null && !network.coins.some((c) => c.id === coinId)) {
    throw badInput(`coin ${coinId} is not on network ${network.id}`, { field: 'coinId' });
  }
  if (mode === 'SINGLE') {
    if (coinId == null) throw badInput('coinId is required: the merchant address mode is SINGLE (one coin per address)', { field: 'coinId' });
    return { mode, networks: [network.id], coins: [coinId] };
  }
  if (mode === 'CROSS' && network.family === 'EVM') {
    const evm = all.filter((n) => n.family === 'EVM' && n.enabled);
    return { mode, networks: evm.map((n) => n.id), coins: evm.flatMap((n) => n.coins.map((c) => c.id)) };
  }
  return { mode: 'COMMON', networks: [network.id], coins: network.coins.map((c) => c.id) };
}

/** HOT, TOKENS_COLLECTOR and COLD addresses hold or receive any coin of their own network. */
export function servedByWallet(network: CatalogueNetwork, coinId?: string | null): Served {
  if (coinId != null && !network.coins.some((c) => c.id === coinId)) {
    throw badInput(`coin ${coinId} is not on network ${network.id}`, { field: 'coinId' });
  }
  return { mode: 'COMMON', networks: [network.id], coins: network.coins.map((c) => c.id) };
}

/**
 * The HD account (BIP44 purpose/coin type) a USER address is derived under. Indexes are counted
 * per merchant and account, so every EVM network shares one counter: the same index gives the
 * same address on every EVM chain, and a shared counter means two of a merchant's addresses
 * (SINGLE on one chain, CROSS on all) can never be the same string.
 */
export function derivationAccount(network: Pick<CatalogueNetwork, 'family' | 'coinType'>): string {
  return `${network.family}/${network.coinType}`;
}

export function normaliseLabel(label: string | null | undefined): string | null {
  if (label == null) return null;
  const trimmed = label.trim();
  if (!trimmed) return null;
  if (trimmed.length > 100) throw badInput('label must be at most 100 characters', { field: 'label' });
  return trimmed;
}
