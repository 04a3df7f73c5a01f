// The signer worker over the bus, on real Postgres and NATS: account xpubs (stable, shared by all
// EVM networks, one seed under concurrency), standalone keys (idempotent, valid per family, the
// private key controls the address), nothing plaintext at rest, and a wrong KEK failing cleanly.
import { randomBytes, randomUUID } from 'node:crypto';
import { mnemonicToSeedSync } from 'bip39';
import { payments } from 'bitcoinjs-lib';
import { HDNodeWallet, computeAddress, hexlify } from 'ethers';
import { TronWeb } from 'tronweb';
import * as ecc from 'tiny-secp256k1';
import { Bus } from '@cpg/core/bus';
import { getNetwork } from '@cpg/chains';
import { bitcoinjsNetwork } from '@cpg/chains/bitcoin/address';
import { codecFor } from '@cpg/chains/codecs';
import type { NetworkConfig } from '@cpg/chains';
import { ConfigError, parseConfig } from '@cpg/core/config';
import { type TestEnv, createTestEnv } from '@cpg/devkit/testing';
import { AesGcmSealer, PostgresKeyStore, seedAad } from '@cpg/chains/keys';
import { signerConfig } from '../src/config';
import { type RunningSigner, type SignerStartConfig, startSignerWorker } from '../src/worker';

const KEK = randomBytes(32).toString('hex');
const sealer = AesGcmSealer.fromHex(KEK);
const TIMEOUT = 15_000;
const BIP39_TEST_PHRASE = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

let env: TestEnv;
let config: SignerStartConfig;
let worker: RunningSigner;
let client: Bus;
const extraWorkers: RunningSigner[] = [];

const net = (id: string): NetworkConfig => getNetwork(id);
const xpubOf = (merchantId: string, networkId: string) => client.request('signer.account_xpub', { merchantId, networkId }, TIMEOUT);
const createKey = (merchantId: string, networkId: string, purpose: 'HOT' | 'TOKENS_COLLECTOR', requestId: string) =>
  client.request('signer.create_key', { merchantId, networkId, purpose, requestId }, TIMEOUT);

async function sql<T = Record<string, unknown>>(query: string, params: unknown[] = []): Promise<T[]> {
  return worker.orm.em.getConnection().execute(query, params);
}

/** The merchant's mnemonic, opened the way only a holder of the KEK can. */
async function mnemonicOf(merchantId: string): Promise<string> {
  const [row] = await sql<{ sealed: Buffer }>('select sealed from signer.merchant_seeds where merchant_id = ?', [merchantId]);
  return (await sealer.open(row!.sealed, seedAad(merchantId))).toString('utf8');
}

/** Everything the signer's tables hold, as Postgres prints it (bytea as hex) and as raw bytes. */
async function dumpSignerTables(): Promise<{ text: string; raw: Buffer }> {
  const rows = await sql<{ line: string; sealed: Buffer }>(
    `select t::text as line, t.sealed from signer.merchant_seeds t union all select k::text, k.sealed from signer.keys k`,
  );
  return { text: rows.map((r) => r.line).join('\n'), raw: Buffer.concat(rows.map((r) => r.sealed)) };
}

function addressControlledBy(network: NetworkConfig, privateKey: Uint8Array): string {
  switch (network.family) {
    case 'EVM':
      return computeAddress(hexlify(privateKey));
    case 'TRON':
      return TronWeb.address.fromPrivateKey(Buffer.from(privateKey).toString('hex')) as string;
    case 'BITCOIN':
      return payments.p2wpkh({ pubkey: Buffer.from(ecc.pointFromScalar(privateKey, true)!), network: bitcoinjsNetwork(network) }).address!;
  }
}

beforeAll(async () => {
  env = await createTestEnv();
  config = { ...env.workerConfig(), KEY_ENCRYPTION_KEY: KEK, KEY_ENCRYPTION_KEY_ID: 1 };
  worker = await startSignerWorker(config, env.log);
  client = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'signer-test', log: env.log });
});

afterAll(async () => {
  await client?.close();
  for (const w of extraWorkers) await w.stop().catch(() => undefined);
  await worker?.stop();
  await env?.cleanup();
});

describe('signer.account_xpub', () => {
  it('gives the account key of each family on its standard path, stable across calls and restarts', async () => {
    const merchantId = randomUUID();
    const ltc = await xpubOf(merchantId, 'dev-ltc');
    const btc = await xpubOf(merchantId, 'bitcoin');
    const eth = await xpubOf(merchantId, 'ethereum');
    const trx = await xpubOf(merchantId, 'tron');
    expect(ltc.path).toBe("m/84'/1'/0'");
    expect(ltc.xpub).toMatch(/^tpub/);
    expect(btc.path).toBe("m/84'/0'/0'");
    expect(btc.xpub).toMatch(/^xpub/);
    expect(eth.path).toBe("m/44'/60'/0'");
    expect(trx.path).toBe("m/44'/195'/0'");
    for (const [id, r] of [
      ['dev-ltc', ltc],
      ['bitcoin', btc],
      ['ethereum', eth],
      ['tron', trx],
    ] as const) {
      const network = net(id);
      const a = codecFor(network.family).deriveAddress(network, r.xpub, 0).address;
      expect(codecFor(network.family).validateAddress(network, a)).toEqual({ valid: true, normalized: a });
    }
    expect(await xpubOf(merchantId, 'dev-ltc')).toEqual(ltc);

    await worker.stop();
    worker = await startSignerWorker(config, env.log);
    expect(await xpubOf(merchantId, 'dev-ltc')).toEqual(ltc);
    expect(await xpubOf(merchantId, 'bitcoin')).toEqual(btc);
    expect(await xpubOf(merchantId, 'ethereum')).toEqual(eth);
    expect(await xpubOf(merchantId, 'tron')).toEqual(trx);
    const [{ n }] = (await sql<{ n: string }>('select count(*)::text as n from signer.merchant_seeds where merchant_id = ?', [merchantId])) as [{ n: string }];
    expect(n).toBe('1');
    expect((await mnemonicOf(merchantId)).split(' ')).toHaveLength(24);
  });

  it('serves one EVM account on every EVM network (CROSS), and each merchant its own', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const devA = await xpubOf(a, 'dev-evm');
    const ethA = await xpubOf(a, 'ethereum');
    const devB = await xpubOf(b, 'dev-evm');
    expect(ethA).toEqual(devA);
    const codec = codecFor('EVM');
    for (const i of [0, 1, 7]) {
      const onDev = codec.deriveAddress(net('dev-evm'), devA.xpub, i).address;
      expect(codec.deriveAddress(net('ethereum'), ethA.xpub, i).address).toBe(onDev);
      expect(codec.deriveAddress(net('bsc'), (await xpubOf(a, 'bsc')).xpub, i).address).toBe(onDev);
      expect(codec.deriveAddress(net('dev-evm'), devB.xpub, i).address).not.toBe(onDev);
    }
    expect(devB.xpub).not.toBe(devA.xpub);
  });

  it('derives what standard wallets derive from the same words (BIP84 and BIP44 test vectors)', async () => {
    const merchantId = randomUUID();
    const sealed = await sealer.seal(Buffer.from(BIP39_TEST_PHRASE, 'utf8'), seedAad(merchantId));
    await sql('insert into signer.merchant_seeds (merchant_id, sealed) values (?, ?)', [merchantId, sealed]);

    const btc = await xpubOf(merchantId, 'bitcoin');
    expect(codecFor('BITCOIN').deriveAddress(net('bitcoin'), btc.xpub, 0).address).toBe('bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu');
    const eth = await xpubOf(merchantId, 'ethereum');
    expect(codecFor('EVM').deriveAddress(net('ethereum'), eth.xpub, 0).address).toBe('0x9858EfFD232B4033E47d90003D41EC34EcaEda94');
    const trx = await xpubOf(merchantId, 'tron');
    const tronKey = HDNodeWallet.fromPhrase(BIP39_TEST_PHRASE, undefined, "m/44'/195'/0'/0/3").privateKey.slice(2);
    expect(codecFor('TRON').deriveAddress(net('tron'), trx.xpub, 3).address).toBe(TronWeb.address.fromPrivateKey(tronKey));
  });

  it('ends 20 simultaneous first calls, spread over two replicas, with one seed and one xpub', async () => {
    extraWorkers.push(await startSignerWorker(config, env.log));
    const merchantId = randomUUID();
    const replies = await Promise.all(Array.from({ length: 20 }, () => xpubOf(merchantId, 'dev-evm')));
    expect(new Set(replies.map((r) => r.xpub)).size).toBe(1);
    const rows = await sql('select merchant_id from signer.merchant_seeds where merchant_id = ?', [merchantId]);
    expect(rows).toHaveLength(1);
  });

  it('keeps one seed when 20 independent key stores race on a first call', async () => {
    const merchantId = randomUUID();
    const stores = Array.from({ length: 20 }, () => new PostgresKeyStore(worker.orm.em, sealer));
    const replies = await Promise.all(stores.map((s, i) => s.accountXpub(merchantId, net(i % 2 ? 'ethereum' : 'dev-evm'))));
    expect(new Set(replies.map((r) => r.xpub)).size).toBe(1);
    expect(await sql('select 1 from signer.merchant_seeds where merchant_id = ?', [merchantId])).toHaveLength(1);
  });

  it('hands signers the key of each derived receive address', async () => {
    const merchantId = randomUUID();
    for (const id of ['dev-evm', 'dev-ltc', 'tron']) {
      const network = net(id);
      const { xpub } = await xpubOf(merchantId, id);
      for (const index of [0, 5]) {
        const key = await worker.keys.privateKeyForAccountIndex(merchantId, network, index);
        const derived = codecFor(network.family).deriveAddress(network, xpub, index).address;
        expect(key.address).toBe(derived);
        expect(addressControlledBy(network, key.privateKey)).toBe(derived);
      }
    }
    await expect(worker.keys.privateKeyForAccountIndex(randomUUID(), net('dev-evm'), 0)).rejects.toThrow(/has no seed yet/);
  });

  it('refuses an unknown network', async () => {
    await expect(xpubOf(randomUUID(), 'dogecoin')).rejects.toThrow(/unknown network dogecoin/);
  });
});

describe('signer.create_key', () => {
  it('makes a fresh key per request with a valid address per family, idempotent per requestId', async () => {
    const merchantId = randomUUID();
    const seen = new Set<string>();
    for (const id of ['dev-evm', 'dev-ltc', 'tron']) {
      const network = net(id);
      const requestId = `req-${randomUUID()}`;
      const first = await createKey(merchantId, id, 'HOT', requestId);
      expect(codecFor(network.family).validateAddress(network, first.address)).toEqual({ valid: true, normalized: first.address });
      const retries = await Promise.all(Array.from({ length: 5 }, () => createKey(merchantId, id, 'HOT', requestId)));
      for (const r of retries) expect(r).toEqual(first);
      const other = await createKey(merchantId, id, 'TOKENS_COLLECTOR', `req-${randomUUID()}`);
      expect(other.address).not.toBe(first.address);
      seen.add(first.address).add(other.address);

      const key = await worker.keys.privateKeyForKey(first.keyId);
      expect(key.address).toBe(first.address);
      expect(addressControlledBy(network, key.privateKey)).toBe(first.address);
    }
    expect(seen.size).toBe(6);
    const [{ n }] = (await sql<{ n: string }>('select count(*)::text as n from signer.keys where merchant_id = ?', [merchantId])) as [{ n: string }];
    expect(n).toBe('6');
  });

  it('makes one key when first attempts of a request race', async () => {
    const merchantId = randomUUID();
    const requestId = `race-${randomUUID()}`;
    const replies = await Promise.all(Array.from({ length: 10 }, () => createKey(merchantId, 'tron', 'HOT', requestId)));
    expect(new Set(replies.map((r) => r.keyId)).size).toBe(1);
    expect(await sql('select 1 from signer.keys where request_id = ?', [requestId])).toHaveLength(1);
  });

  it('refuses a requestId reused for another merchant, network or purpose', async () => {
    const merchantId = randomUUID();
    const requestId = `req-${randomUUID()}`;
    await createKey(merchantId, 'dev-evm', 'HOT', requestId);
    await expect(createKey(merchantId, 'dev-evm', 'TOKENS_COLLECTOR', requestId)).rejects.toThrow(/already used for a different key request/);
    await expect(createKey(merchantId, 'tron', 'HOT', requestId)).rejects.toThrow(/already used/);
    await expect(createKey(randomUUID(), 'dev-evm', 'HOT', requestId)).rejects.toThrow(/already used/);
  });
});

describe('at rest', () => {
  it('stores no seed words, seed or private key in the clear', async () => {
    const merchantId = randomUUID();
    await xpubOf(merchantId, 'dev-ltc');
    const created = await createKey(merchantId, 'dev-evm', 'HOT', `req-${randomUUID()}`);
    const phrase = await mnemonicOf(merchantId);
    const seed = mnemonicToSeedSync(phrase);
    const masterKey = Buffer.from(HDNodeWallet.fromPhrase(phrase, undefined, 'm').privateKey.slice(2), 'hex');
    const keyBytes = Buffer.from((await worker.keys.privateKeyForKey(created.keyId)).privateKey);
    const derivedKey = Buffer.from((await worker.keys.privateKeyForAccountIndex(merchantId, net('dev-ltc'), 0)).privateKey);

    const { text, raw } = await dumpSignerTables();
    const lower = text.toLowerCase();
    expect(raw.length).toBeGreaterThan(0);
    expect(raw.includes(Buffer.from(phrase, 'utf8'))).toBe(false);
    // Short words could turn up in random ciphertext by chance; long ones cannot.
    for (const word of phrase.split(' ').filter((w) => w.length >= 5)) expect(raw.includes(Buffer.from(word, 'utf8'))).toBe(false);
    expect(lower).not.toContain(phrase);
    expect(lower).not.toContain(Buffer.from(phrase, 'utf8').toString('hex'));
    for (const secret of [keyBytes, derivedKey, seed, masterKey]) {
      expect(raw.includes(secret)).toBe(false);
      expect(lower).not.toContain(secret.toString('hex'));
    }
  });
});

describe('a wrong KEY_ENCRYPTION_KEY', () => {
  it('cannot open the seeds: clear errors without key material, and the worker is not ready', async () => {
    const merchantId = randomUUID();
    const { xpub } = await xpubOf(merchantId, 'dev-evm');
    const created = await createKey(merchantId, 'dev-evm', 'HOT', `req-${randomUUID()}`);
    const phrase = await mnemonicOf(merchantId);
    const keyHex = Buffer.from((await worker.keys.privateKeyForKey(created.keyId)).privateKey).toString('hex');

    const wrongKek = randomBytes(32).toString('hex');
    const namespace = `${env.namespace}_wrongkek`;
    const wrong = await startSignerWorker({ ...config, KEY_ENCRYPTION_KEY: wrongKek, NATS_NAMESPACE: namespace }, env.log);
    const wrongClient = await Bus.connect({ url: env.natsUrl, namespace, name: 'signer-test-wrong', log: env.log });
    try {
      let message = '';
      try {
        await wrongClient.request('signer.account_xpub', { merchantId, networkId: 'dev-evm' }, TIMEOUT);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(/cannot open a value sealed under key-encryption key #1: the key-encryption key is wrong/);
      const keyErr = await wrong.keys.privateKeyForKey(created.keyId).then(
        () => '',
        (err: Error) => err.message,
      );
      expect(keyErr).toMatch(/key-encryption key is wrong/);
      for (const m of [message, keyErr]) {
        for (const secret of [KEK, wrongKek, keyHex, xpub, phrase, ...phrase.split(' ').filter((w) => w.length >= 5)]) expect(m).not.toContain(secret);
      }
      const ready = await fetch(`http://127.0.0.1:${wrong.port}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, boolean> }).checks.keyEncryptionKey).toBe(false);
    } finally {
      await wrongClient.deleteStream();
      await wrongClient.close();
      await wrong.stop();
    }
    expect((await fetch(`http://127.0.0.1:${worker.port}/readyz`)).status).toBe(200);
  });

  it('is named at start when missing or malformed, without echoing its value', () => {
    const base = { DATABASE_URL: env.databaseUrl, NATS_URL: env.natsUrl, PORT: '0' };
    expect(() => parseConfig(signerConfig, base)).toThrow(/KEY_ENCRYPTION_KEY is required/);
    const short = 'ab'.repeat(31);
    let err: unknown;
    try {
      parseConfig(signerConfig, { ...base, KEY_ENCRYPTION_KEY: short });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/KEY_ENCRYPTION_KEY must be 32 bytes written as 64 hex characters/);
    expect((err as Error).message).not.toContain(short);
    expect(() => parseConfig(signerConfig, { ...base, KEY_ENCRYPTION_KEY: '0'.repeat(64) })).toThrow(/must not be all zeros/);
    expect(parseConfig(signerConfig, { ...base, KEY_ENCRYPTION_KEY: KEK }).KEY_ENCRYPTION_KEY_ID).toBe(1);
  });
});
