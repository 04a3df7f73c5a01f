import { randomBytes, randomUUID } from 'node:crypto';
import { BIP32Factory, type BIP32Interface } from 'bip32';
import * as bip39 from 'bip39';
import * as ecc from 'tiny-secp256k1';
import type { EntityManager } from '@mikro-orm/postgresql';
import { p2wpkhAddressOfHash, paramsOf } from '../bitcoin/address';
import { hash160 } from '../bitcoin/encoding';
import { publicKeyToAddress } from '../evm/codec';
import { getNetwork } from '../networks';
import { tronAddressFromPublicKey } from '../tron/address';
import type { NetworkConfig, NetworkFamily, SigningKey } from '../types';
import type { Sealer } from './envelope';
import { MerchantSeed, SignerKey } from './entities';

export type KeyPurpose = 'HOT' | 'TOKENS_COLLECTOR';
export const KEY_PURPOSES: readonly KeyPurpose[] = ['HOT', 'TOKENS_COLLECTOR'];

/**
 * Where merchants' keys live. Only workers/signer and workers/collector hold one. Nothing it
 * returns from `accountXpub` or `createKey` is secret; the `privateKeyFor*` calls hand a key to
 * an in-process signer for one signature and must never feed a log, the bus or an API.
 */
export interface KeyStore {
  /**
   * Called when the address service allocates a merchant's first USER address on a network
   * (signer.account_xpub), and whenever it needs the xpub again. Idempotent and safe under
   * concurrency: the merchant's seed (24 BIP39 words) is created on the first call, and
   * simultaneous first calls, in one process or several, end with one seed.
   * Bitcoin family: BIP84 m/84'/coinType'/0' encoded with the network's xpub/tpub version.
   * EVM: m/44'/60'/0' for every EVM network (one account, so CROSS addresses match on all).
   * Tron: m/44'/195'/0'.
   */
  accountXpub(merchantId: string, network: NetworkConfig): Promise<{ xpub: string; path: string }>;
  /**
   * Called for a HOT or TOKENS_COLLECTOR address (signer.create_key): a fresh random secp256k1
   * key, not derived from the seed. Idempotent per requestId: a retry with the same requestId
   * returns the same key; reusing a requestId for another merchant, network or purpose throws.
   */
  createKey(merchantId: string, network: NetworkConfig, purpose: KeyPurpose, requestId: string): Promise<{ keyId: string; address: string }>;
  /**
   * Called by a signer (sweeps from USER addresses) for the key of receive address `0/index`
   * under the merchant's account; the address equals the codec's deriveAddress(xpub, index).
   * Read-only and idempotent; throws when the merchant has no seed yet.
   */
  privateKeyForAccountIndex(merchantId: string, network: NetworkConfig, index: number): Promise<SigningKey>;
  /** Called by a signer for a key made by createKey. Read-only and idempotent; throws when unknown. */
  privateKeyForKey(keyId: string): Promise<SigningKey>;
  /**
   * Called by readiness checks: true when the key-encryption key opens a stored seed (or there
   * is none yet). Read-only; a false answer means the process was given the wrong KEK.
   */
  canOpenStoredSecrets(): Promise<boolean>;
}

/** Messages name rows and reasons, never key material: they may travel in an RPC error reply. */
export class KeyStoreError extends Error {
  constructor(
    message: string,
    readonly code: 'NOT_FOUND' | 'CONFLICT' | 'BAD_USER_INPUT',
  ) {
    super(message);
    this.name = 'KeyStoreError';
  }
}

const bip32 = BIP32Factory(ecc);
const HARDENED = 0x80000000;
/** EVM and Tron wallets export account keys with Bitcoin mainnet's xpub version bytes. */
const XPUB_VERSIONS = { public: 0x0488b21e, private: 0x0488ade4 };
const EVM_COIN_TYPE = 60;
const ACCOUNT = 0;
const RECEIVE_CHAIN = 0;
const NODE_CACHE_LIMIT = 10_000;

interface AccountSpec {
  purpose: 44 | 84;
  coinType: number;
  path: string;
  versions: { public: number; private: number };
  wif: number;
  cacheKeyPart: string;
}

function accountSpec(network: NetworkConfig): AccountSpec {
  const spec = (purpose: 44 | 84, coinType: number, versions: { public: number; private: number }, wif: number): AccountSpec => ({
    purpose,
    coinType,
    path: `m/${purpose}'/${coinType}'/${ACCOUNT}'`,
    versions,
    wif,
    // The version bytes are part of the key: two networks of one coin type may encode differently.
    cacheKeyPart: `${network.family}|${coinType}|${versions.public}`,
  });
  switch (network.family) {
    case 'BITCOIN': {
      if (!network.bitcoin) throw new KeyStoreError(`network ${network.id} has no Bitcoin parameters`, 'BAD_USER_INPUT');
      return spec(84, network.coinType, network.bitcoin.bip32, network.bitcoin.wif);
    }
    case 'EVM':
      return spec(44, EVM_COIN_TYPE, XPUB_VERSIONS, 0x80);
    case 'TRON':
      return spec(44, network.coinType, XPUB_VERSIONS, 0x80);
    default:
      throw new KeyStoreError(`unsupported family ${(network as { family: NetworkFamily }).family}`, 'BAD_USER_INPUT');
  }
}

/** The address a public key controls, in the form the family's codec normalises to. */
export function addressOfPublicKey(network: NetworkConfig, publicKey: Uint8Array): string {
  switch (network.family) {
    case 'BITCOIN':
      return p2wpkhAddressOfHash(paramsOf(network), hash160(publicKey.length === 33 ? publicKey : ecc.pointCompress(publicKey, true)));
    case 'EVM':
      return publicKeyToAddress(publicKey);
    case 'TRON':
      return tronAddressFromPublicKey(publicKey);
  }
}

/** Associated data of a seed: a seed row copied under another merchant does not open. */
export function seedAad(merchantId: string): string {
  return `cpg/signer/merchant_seed/v1/${merchantId}`;
}

/** Associated data of a standalone key: binds every column that says what the key is for. */
export function keyAad(row: { id: string; merchantId: string; networkId: string; purpose: string; address: string }): string {
  return `cpg/signer/key/v1/${row.id}/${row.merchantId}/${row.networkId}/${row.purpose}/${row.address}`;
}

function randomPrivateKey(): Buffer {
  for (;;) {
    const k = randomBytes(32);
    // Zero or >= the curve order happens with probability ~2^-128; redraw rather than reduce.
    if (ecc.isPrivate(k)) return k;
  }
}

export interface PostgresKeyStoreOptions {
  /** Resolves a stored network id (privateKeyForKey); defaults to the catalogue. */
  network?: (id: string) => NetworkConfig;
}

/**
 * KeyStore on the signer's Postgres schema: sealed seeds in merchant_seeds, sealed standalone
 * keys in keys. Derived account nodes are cached in memory, since opening a seed costs a PBKDF2
 * (BIP39) and every address allocation asks for the account again.
 */
export class PostgresKeyStore implements KeyStore {
  private readonly accounts = new Map<string, BIP32Interface>();
  /** One derivation in flight per account, so a burst of first calls opens the seed once. */
  private readonly pending = new Map<string, Promise<BIP32Interface>>();
  private readonly network: (id: string) => NetworkConfig;

  /** `em` is the root (or any) EntityManager; every call works in its own fork. */
  constructor(
    private readonly em: EntityManager,
    private readonly sealer: Sealer,
    opts: PostgresKeyStoreOptions = {},
  ) {
    this.network = opts.network ?? ((id) => getNetwork(id));
  }

  async accountXpub(merchantId: string, network: NetworkConfig): Promise<{ xpub: string; path: string }> {
    const spec = accountSpec(network);
    const node = await this.accountNode(merchantId, spec, true);
    return { xpub: node.neutered().toBase58(), path: spec.path };
  }

  async createKey(merchantId: string, network: NetworkConfig, purpose: KeyPurpose, requestId: string): Promise<{ keyId: string; address: string }> {
    if (!KEY_PURPOSES.includes(purpose)) throw new KeyStoreError(`unknown key purpose ${String(purpose)}`, 'BAD_USER_INPUT');
    const existing = await this.em.fork().findOne(SignerKey, { requestId });
    if (existing) return this.sameRequest(existing, merchantId, network, purpose);

    const privateKey = randomPrivateKey();
    try {
      const address = addressOfPublicKey(network, ecc.pointFromScalar(privateKey, true)!);
      const row = { id: randomUUID(), merchantId, networkId: network.id, purpose, address };
      const sealed = await this.sealer.seal(privateKey, keyAad(row));
      // Two retries racing: the unique request_id lets exactly one insert land; both then read it.
      await this.em
        .fork()
        .createQueryBuilder(SignerKey)
        .insert({ ...row, sealed, requestId, createdAt: new Date() })
        .onConflict('request_id')
        .ignore()
        .execute();
    } finally {
      privateKey.fill(0);
    }
    const stored = await this.em.fork().findOne(SignerKey, { requestId });
    if (!stored) throw new Error(`key for request ${requestId} vanished after insert`);
    return this.sameRequest(stored, merchantId, network, purpose);
  }

  async privateKeyForAccountIndex(merchantId: string, network: NetworkConfig, index: number): Promise<SigningKey> {
    if (!Number.isInteger(index) || index < 0 || index >= HARDENED)
      throw new KeyStoreError(`index must be an integer in [0, 2^31), got ${index}`, 'BAD_USER_INPUT');
    const node = await this.accountNode(merchantId, accountSpec(network), false);
    const child = node.derive(RECEIVE_CHAIN).derive(index);
    return { privateKey: Uint8Array.from(child.privateKey!), address: addressOfPublicKey(network, child.publicKey) };
  }

  async privateKeyForKey(keyId: string): Promise<SigningKey> {
    const row = await this.em.fork().findOne(SignerKey, { id: keyId });
    if (!row) throw new KeyStoreError(`key ${keyId} does not exist`, 'NOT_FOUND');
    const network = this.network(row.networkId);
    const privateKey = await this.sealer.open(row.sealed, keyAad(row));
    const pub = privateKey.length === 32 && ecc.isPrivate(privateKey) ? ecc.pointFromScalar(privateKey, true) : null;
    // The AAD already binds the address; this catches a bug in how keys were made, before a
    // signer sends funds from an address it cannot spend.
    if (!pub || addressOfPublicKey(network, pub) !== row.address) {
      privateKey.fill(0);
      throw new KeyStoreError(`key ${keyId} does not control its stored address`, 'CONFLICT');
    }
    const out = Uint8Array.from(privateKey);
    privateKey.fill(0);
    return { privateKey: out, address: row.address };
  }

  async canOpenStoredSecrets(): Promise<boolean> {
    const [row] = await this.em.fork().find(MerchantSeed, {}, { orderBy: { createdAt: 'desc' }, limit: 1 });
    if (!row) return true;
    try {
      (await this.sealer.open(row.sealed, seedAad(row.merchantId))).fill(0);
      return true;
    } catch {
      return false;
    }
  }

  private sameRequest(
    row: { id: string; merchantId: string; networkId: string; purpose: string; address: string },
    merchantId: string,
    network: NetworkConfig,
    purpose: KeyPurpose,
  ) {
    if (row.merchantId !== merchantId || row.networkId !== network.id || row.purpose !== purpose)
      throw new KeyStoreError('requestId was already used for a different key request', 'CONFLICT');
    return { keyId: row.id, address: row.address };
  }

  private async accountNode(merchantId: string, spec: AccountSpec, create: boolean): Promise<BIP32Interface> {
    const cacheKey = `${merchantId}|${spec.cacheKeyPart}`;
    const cached = this.accounts.get(cacheKey);
    if (cached) return cached;
    // Keyed by `create` too: a lookup that must not create a seed would otherwise fail a
    // concurrent first accountXpub call that joined it.
    const pendingKey = `${cacheKey}|${create}`;
    let inFlight = this.pending.get(pendingKey);
    if (!inFlight) {
      inFlight = this.deriveAccount(merchantId, spec, create).finally(() => this.pending.delete(pendingKey));
      this.pending.set(pendingKey, inFlight);
    }
    const node = await inFlight;
    if (this.accounts.size >= NODE_CACHE_LIMIT) this.accounts.delete(this.accounts.keys().next().value!);
    this.accounts.set(cacheKey, node);
    return node;
  }

  private async deriveAccount(merchantId: string, spec: AccountSpec, create: boolean): Promise<BIP32Interface> {
    const mnemonic = await this.openSeed(merchantId, create);
    try {
      const seed = bip39.mnemonicToSeedSync(mnemonic.toString('utf8'));
      try {
        const root = bip32.fromSeed(seed, { wif: spec.wif, bip32: spec.versions, messagePrefix: '', bech32: '', pubKeyHash: 0, scriptHash: 0 });
        return root.deriveHardened(spec.purpose).deriveHardened(spec.coinType).deriveHardened(ACCOUNT);
      } finally {
        seed.fill(0);
      }
    } finally {
      mnemonic.fill(0);
    }
  }

  /** The merchant's mnemonic (UTF-8 bytes; the caller zeroes them), creating it when asked to. */
  private async openSeed(merchantId: string, create: boolean): Promise<Buffer> {
    let row = await this.em.fork().findOne(MerchantSeed, { merchantId });
    if (!row) {
      if (!create) throw new KeyStoreError(`merchant ${merchantId} has no seed yet`, 'NOT_FOUND');
      const words = Buffer.from(bip39.generateMnemonic(256), 'utf8');
      try {
        const sealed = await this.sealer.seal(words, seedAad(merchantId));
        // Concurrent first calls (other replicas included) each try to insert; the primary key
        // keeps the first and the others read it back, so every caller derives from one seed.
        await this.em
          .fork()
          .createQueryBuilder(MerchantSeed)
          .insert({ merchantId, sealed, createdAt: new Date() })
          .onConflict('merchant_id')
          .ignore()
          .execute();
      } finally {
        words.fill(0);
      }
      row = await this.em.fork().findOne(MerchantSeed, { merchantId });
      if (!row) throw new Error(`seed of merchant ${merchantId} vanished after insert`);
    }
    const words = await this.sealer.open(row.sealed, seedAad(merchantId));
    if (!bip39.validateMnemonic(words.toString('utf8'))) {
      words.fill(0);
      throw new KeyStoreError(`stored seed of merchant ${merchantId} is not a valid mnemonic`, 'CONFLICT');
    }
    return words;
  }
}
