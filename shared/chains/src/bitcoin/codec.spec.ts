import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BIP32Factory } from 'bip32';
import * as bip39 from 'bip39';
import { payments } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { getNetwork } from '../networks';
import type { NetworkConfig } from '../types';
import { ADDRESS_REASONS, bitcoinjsNetwork, decodeAddress } from './address';
import { bitcoinCodec, clearCodecCache, CodecError } from './codec';
import { base58CheckDecode, base58CheckEncode, bech32Decode } from './encoding';

const VECTORS = path.join(__dirname, '..', '..', '..', 'fixtures', 'bitcoin', 'address-vectors');
const load = <T>(file: string): T => JSON.parse(readFileSync(path.join(VECTORS, file), 'utf8')) as T;

const bitcoin = getNetwork('bitcoin');
const bitcoinTestnet = getNetwork('bitcoin-testnet');
const litecoin = getNetwork('litecoin');
const litecoinTestnet = getNetwork('litecoin-testnet');
const devLtc = getNetwork('dev-ltc');
/** Bitcoin regtest is not in the catalogue; the vectors have addresses for it. */
const bitcoinRegtest: NetworkConfig = { ...bitcoinTestnet, id: 'bitcoin-regtest', bitcoin: { ...bitcoinTestnet.bitcoin!, bech32: 'bcrt' } };

const validate = (network: NetworkConfig, address: string) => bitcoinCodec.validateAddress(network, address);
const scriptHex = (network: NetworkConfig, address: string) => {
  const d = decodeAddress(network.bitcoin!, address);
  return d.ok ? Buffer.from(d.script).toString('hex') : `invalid: ${d.reason}`;
};
/** The output types we pay to: P2PKH, P2SH, P2WPKH, P2WSH, P2TR. Others are anyone-can-spend today. */
const supportedScript = (hex: string) => /^(76a914[0-9a-f]{40}88ac|a914[0-9a-f]{40}87|0014[0-9a-f]{40}|0020[0-9a-f]{64}|5120[0-9a-f]{64})$/.test(hex);

interface BipVector {
  string: string;
  scriptPubKey_hex?: string;
  reason?: string;
}
interface BipFile {
  groups: { heading: string; vectors: BipVector[] }[];
}

describe('bech32 strings (BIP173 / BIP350 vectors)', () => {
  const bip173 = load<BipFile>('bip173_bech32_test_vectors.json');
  const bip350 = load<BipFile>('bip350_bech32m_test_vectors.json');

  it.each(bip173.groups[0]!.vectors.map((v) => v.string))('%j is valid Bech32', (s) => {
    expect(bech32Decode(s)).toMatchObject({ ok: true, variant: 'bech32' });
  });
  it.each(bip350.groups[0]!.vectors.map((v) => v.string))('%j is valid Bech32m', (s) => {
    expect(bech32Decode(s)).toMatchObject({ ok: true, variant: 'bech32m' });
  });
  it.each([...bip173.groups[1]!.vectors, ...bip350.groups[1]!.vectors].map((v) => [v.string, v.reason]))('%j is invalid (%s)', (s) => {
    expect(bech32Decode(s).ok).toBe(false);
  });
});

describe('segwit addresses (BIP350 vectors)', () => {
  const bip350 = load<BipFile>('bip350_bech32m_test_vectors.json');
  const networkOf = (s: string) => (s.toLowerCase().startsWith('bc1') ? bitcoin : bitcoinTestnet);

  it.each(bip350.groups[2]!.vectors.map((v) => [v.string, v.scriptPubKey_hex!]))('%j pays %s, or is refused as unsupported', (address, hex) => {
    const result = validate(networkOf(address), address);
    if (supportedScript(hex)) {
      expect(result).toEqual({ valid: true, normalized: address.toLowerCase() });
      expect(scriptHex(networkOf(address), address)).toBe(hex);
    } else {
      expect(result).toEqual({ valid: false, reason: 'unsupported witness version' });
    }
  });

  // The BIP's reason -> ours. Written out so that a change in our wording is a visible decision.
  const REASONS: Record<string, string> = {
    'Invalid human-readable part': 'wrong network prefix',
    'Invalid checksum (Bech32 instead of Bech32m)': 'bad checksum',
    'Invalid checksum (Bech32m instead of Bech32)': 'bad checksum',
    'Invalid character in checksum': 'invalid characters',
    'Invalid witness version': 'invalid witness version',
    'Invalid program length (1 byte)': 'invalid program length',
    'Invalid program length (41 bytes)': 'invalid program length',
    'Invalid program length for witness version 0 (per BIP141)': 'invalid program length',
    'Mixed case': 'mixed case',
    'zero padding of more than 4 bits': 'invalid padding',
    'Non-zero padding in 8-to-5 conversion': 'invalid padding',
    'Empty data section': 'missing witness version',
  };
  it.each(bip350.groups[3]!.vectors.map((v) => [v.string, v.reason!]))('%j is refused (%s)', (address, bipReason) => {
    const lower = address.toLowerCase();
    const own = lower.startsWith('bc1') ? [bitcoin] : lower.startsWith('tb1') ? [bitcoinTestnet] : [bitcoin, bitcoinTestnet];
    for (const network of own) expect(validate(network, address)).toEqual({ valid: false, reason: REASONS[bipReason] });
  });

  it('refuses the BIP173 invalid segwit addresses too', () => {
    const bip173 = load<BipFile>('bip173_bech32_test_vectors.json');
    for (const v of bip173.groups[3]!.vectors) {
      expect(validate(bitcoin, v.string).valid).toBe(false);
      expect(validate(bitcoinTestnet, v.string).valid).toBe(false);
    }
  });

  it('refuses the BIP173 "valid" v1+ addresses, which are Bech32 and so invalid under BIP350', () => {
    expect(validate(bitcoin, 'bc1pw508d6qejxtdg4y5r3zarvary0c5xw7kw508d6qejxtdg4y5r3zarvary0c5xw7k7grplx')).toEqual({ valid: false, reason: 'bad checksum' });
    expect(validate(bitcoin, 'BC1SW50QA3JX3S')).toEqual({ valid: false, reason: 'bad checksum' });
    expect(validate(bitcoin, 'bc1zw508d6qejxtdg4y5r3zarvaryvg6kdaj')).toEqual({ valid: false, reason: 'bad checksum' });
  });
});

describe('bitcoinjs-lib address fixtures', () => {
  const fx = load<{
    standard: { network: string; base58check?: string; bech32?: string; hash?: string; data?: string; version: number }[];
    invalid: { bech32: { address: string }[]; fromBase58Check: { address: string }[] };
  }>('bitcoinjs-lib_address.json');
  const networks: Record<string, NetworkConfig> = { bitcoin, testnet: bitcoinTestnet, litecoin, regtest: bitcoinRegtest };

  it('accepts every standard P2PKH/P2SH/P2WPKH/P2WSH/P2TR address on its network', () => {
    let checked = 0;
    for (const v of fx.standard) {
      const address = (v.base58check ?? v.bech32)!;
      const network = networks[v.network]!;
      const hex = scriptHex(network, address);
      if (v.base58check || supportedScript(hex) || v.version === 0) {
        expect([address, validate(network, address)]).toEqual([address, { valid: true, normalized: v.bech32 ? address.toLowerCase() : address }]);
        expect(hex).toContain((v.hash ?? v.data)!);
        checked++;
      } else {
        expect([address, validate(network, address)]).toEqual([address, { valid: false, reason: 'unsupported witness version' }]);
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('refuses the invalid ones', () => {
    for (const { address } of [...fx.invalid.bech32, ...fx.invalid.fromBase58Check]) {
      expect([address, validate(bitcoin, address).valid, validate(bitcoinTestnet, address).valid]).toEqual([address, false, false]);
    }
  });
});

describe('base58 addresses (Bitcoin Core vectors via bitcoinjs-lib)', () => {
  const valid = load<[string, string, { addrType?: string; isPrivkey: boolean; isTestnet: boolean }][]>('bitcoinjs-lib_core_base58_keys_valid.json');
  const invalid = load<[string][]>('bitcoinjs-lib_core_base58_keys_invalid.json');

  it.each(valid.filter(([, , m]) => !m.isPrivkey))('%s is valid on its network only', (address, payload, meta) => {
    const own = meta.isTestnet ? bitcoinTestnet : bitcoin;
    const other = meta.isTestnet ? bitcoin : bitcoinTestnet;
    expect(validate(own, address)).toEqual({ valid: true, normalized: address });
    expect(scriptHex(own, address)).toBe(meta.addrType === 'pubkey' ? `76a914${payload}88ac` : `a914${payload}87`);
    expect(validate(other, address)).toEqual({ valid: false, reason: 'wrong network prefix' });
  });

  it('never takes a private key (WIF) for an address', () => {
    const keys = valid.filter(([, , m]) => m.isPrivkey);
    expect(keys.length).toBeGreaterThan(10);
    for (const [wif] of keys) {
      expect(validate(bitcoin, wif).valid).toBe(false);
      expect(validate(bitcoinTestnet, wif).valid).toBe(false);
    }
  });

  it('refuses every invalid vector', () => {
    expect(invalid.length).toBe(50);
    for (const [s] of invalid) expect([s, validate(bitcoin, s).valid, validate(bitcoinTestnet, s).valid]).toEqual([s, false, false]);
  });
});

describe('Litecoin addresses (Litecoin Core key_io vectors)', () => {
  const valid = load<[string, string, { chain: 'main' | 'test' | 'regtest'; isPrivkey: boolean; tryCaseFlip?: boolean }][]>('litecoin_key_io_valid.json');
  const invalid = load<[string][]>('litecoin_key_io_invalid.json');
  const byChain = { main: litecoin, test: litecoinTestnet, regtest: devLtc };

  it.each(valid.filter(([, , m]) => !m.isPrivkey))('%s (%s)', (address, script, meta) => {
    const network = byChain[meta.chain];
    const forms = meta.tryCaseFlip ? [address, address.toUpperCase()] : [address];
    for (const form of forms) {
      if (supportedScript(script)) {
        expect(validate(network, form)).toEqual({ valid: true, normalized: meta.tryCaseFlip ? address.toLowerCase() : address });
        expect(scriptHex(network, form)).toBe(script);
      } else {
        expect(validate(network, form)).toEqual({ valid: false, reason: 'unsupported witness version' });
      }
    }
    if (meta.chain === 'main') {
      expect(validate(devLtc, address).valid).toBe(false);
      expect(validate(litecoinTestnet, address).valid).toBe(false);
    } else {
      expect(validate(litecoin, address).valid).toBe(false);
    }
  });

  it('shares base58 prefixes between testnet and regtest, but not segwit prefixes', () => {
    expect(validate(devLtc, 'mwXn5Vhicdav8Av3KMokx4YNuHoGRKxtWs').valid).toBe(true);
    expect(validate(litecoinTestnet, 'QgDNrG4nJpE4VV7PcFMFhkTgwAHWxWS7pj').valid).toBe(true);
    expect(validate(devLtc, 'tltc1qpftpsvdn6mjp8celrkj0qxqy4jlapl959rlwg9')).toEqual({ valid: false, reason: 'wrong network prefix' });
    expect(validate(litecoinTestnet, 'rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8k')).toEqual({ valid: false, reason: 'wrong network prefix' });
  });

  it('refuses every invalid vector on every Litecoin network', () => {
    expect(invalid.length).toBe(70);
    for (const [s] of invalid) {
      expect([s, validate(litecoin, s).valid, validate(litecoinTestnet, s).valid, validate(devLtc, s).valid]).toEqual([s, false, false, false]);
    }
  });
});

describe('validateAddress: our own cases', () => {
  it.each<[NetworkConfig, string, string]>([
    [litecoin, 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', 'wrong network prefix'],
    [bitcoin, 'ltc1qhdhvrwe6rgqns8fz28tee0hphr5x7ulw5exv4w', 'wrong network prefix'],
    [devLtc, 'ltc1qhdhvrwe6rgqns8fz28tee0hphr5x7ulw5exv4w', 'wrong network prefix'],
    [devLtc, 'bcrt1qjh3dnrafy8f2zszh5sdqn6c3ycfljh930yza9nt72v30dkw8mlvscn82zx', 'wrong network prefix'],
    // A Bitcoin P2SH ("3...") and P2PKH on Litecoin mainnet: a checksum-valid base58 of another coin.
    [litecoin, '3LRW7jeCvQCRdPF8S3yUCfRAx4eqXFmdcr', 'wrong network prefix'],
    [litecoin, '1BgGZ9tcN4rm9KBzDn7KprQz87SZ26SAMH', 'wrong network prefix'],
    [bitcoin, 'LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLU', 'wrong network prefix'],
    // One character changed in a valid address.
    [devLtc, 'rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8m', 'bad checksum'],
    [litecoin, 'LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLV', 'bad checksum'],
    [devLtc, 'rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wPRZZ8k', 'mixed case'],
    [devLtc, ' rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8k', 'contains whitespace'],
    [devLtc, 'rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8k\n', 'contains whitespace'],
    [devLtc, '', 'empty'],
    [litecoin, 'LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqL0', 'invalid characters'],
    [litecoin, 'ltc1zjwls6j8c4u', 'unsupported witness version'],
  ])('%#: %j is refused as %j', (network, address, reason) => {
    expect(ADDRESS_REASONS).toContain(reason);
    expect(validate(network, address)).toEqual({ valid: false, reason });
  });

  it('normalises bech32 to lower case and keeps base58 as given', () => {
    expect(validate(litecoin, 'LTC1QHDHVRWE6RGQNS8FZ28TEE0HPHR5X7ULW5EXV4W')).toEqual({
      valid: true,
      normalized: 'ltc1qhdhvrwe6rgqns8fz28tee0hphr5x7ulw5exv4w',
    });
    expect(validate(litecoin, 'LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLU')).toEqual({ valid: true, normalized: 'LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLU' });
  });

  it('refuses non-Bitcoin networks outright', () => {
    expect(() => validate(getNetwork('ethereum'), '0x0000000000000000000000000000000000000000')).toThrow('not a Bitcoin-family network');
  });
});

/** The same extended key under other version bytes (what wallets do to signal the script type). */
function relabel(key: string, version: number): string {
  const d = base58CheckDecode(key);
  if (!d.ok) throw new Error('bad test key');
  const bytes = Uint8Array.from(d.payload);
  new DataView(bytes.buffer).setUint32(0, version);
  return base58CheckEncode(bytes);
}

describe('deriveAddress', () => {
  const bip32 = BIP32Factory(ecc);
  // BIP84's test mnemonic and its published results (m/84'/0'/0'/0/0 and /0/1).
  const MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';
  const BIP84_ZPUB = 'zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs';
  const root = bip32.fromSeed(bip39.mnemonicToSeedSync(MNEMONIC));
  const accountXpub = root.derivePath("m/84'/0'/0'").neutered().toBase58();

  beforeEach(() => clearCodecCache());

  it('matches the BIP84 test vectors from a zpub and from the same key as an xpub', () => {
    for (const key of [BIP84_ZPUB, accountXpub]) {
      expect(bitcoinCodec.deriveAddress(bitcoin, key, 0)).toEqual({
        address: 'bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu',
        path: '0/0',
        index: 0,
        publicKey: '0330d54fd0dd420a6e5f8d3624f5f3482cae350f79d5f0753bf5beef9c2d91af3c',
      });
      expect(bitcoinCodec.deriveAddress(bitcoin, key, 1).address).toBe('bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g');
    }
  });

  it('agrees with bip32 + bitcoinjs payments on dev-ltc for a tpub, at many indexes', () => {
    const tpubNode = bip32.fromSeed(bip39.mnemonicToSeedSync(MNEMONIC), bitcoinjsNetwork(devLtc)).derivePath("m/84'/1'/0'").neutered();
    const tpub = tpubNode.toBase58();
    expect(tpub.startsWith('tpub')).toBe(true);
    for (const index of [0, 1, 2, 19, 1000, 2 ** 31 - 1]) {
      const expected = tpubNode.derive(0).derive(index);
      const got = bitcoinCodec.deriveAddress(devLtc, tpub, index);
      expect(got.address).toBe(payments.p2wpkh({ pubkey: expected.publicKey, network: bitcoinjsNetwork(devLtc) }).address);
      expect(got.address.startsWith('rltc1q')).toBe(true);
      expect(got.publicKey).toBe(Buffer.from(expected.publicKey).toString('hex'));
      expect(got.path).toBe(`0/${index}`);
      expect(validate(devLtc, got.address)).toEqual({ valid: true, normalized: got.address });
    }
  });

  it('reads the same key under any public version of its network kind (xpub, zpub, Ltub)', () => {
    const expected = bitcoinCodec.deriveAddress(litecoin, BIP84_ZPUB, 3).address;
    for (const version of [0x0488b21e, 0x019da462]) expect(bitcoinCodec.deriveAddress(litecoin, relabel(BIP84_ZPUB, version), 3).address).toBe(expected);
  });

  it('is deterministic: the same (xpub, index) always gives the same address', () => {
    const a = bitcoinCodec.deriveAddress(litecoin, BIP84_ZPUB, 7);
    clearCodecCache();
    const b = bitcoinCodec.deriveAddress(litecoin, BIP84_ZPUB, 7);
    const c = bitcoinCodec.deriveAddress(litecoin, BIP84_ZPUB, 7);
    expect(a).toEqual(b);
    expect(b).toEqual(c);
    expect(a.address.startsWith('ltc1q')).toBe(true);
  });

  it('refuses a mainnet key on a test network and the reverse', () => {
    expect(() => bitcoinCodec.deriveAddress(devLtc, BIP84_ZPUB, 0)).toThrow(/for mainnet.*test network/);
    const tpub = bip32.fromSeed(bip39.mnemonicToSeedSync(MNEMONIC), bitcoinjsNetwork(devLtc)).derivePath("m/84'/1'/0'").neutered().toBase58();
    expect(() => bitcoinCodec.deriveAddress(litecoin, tpub, 0)).toThrow(/for a test network/);
  });

  it('refuses private keys without echoing them', () => {
    const xprv = root.derivePath("m/84'/0'/0'").toBase58();
    let message = '';
    try {
      bitcoinCodec.deriveAddress(bitcoin, xprv, 0);
    } catch (err) {
      expect(err).toBeInstanceOf(CodecError);
      message = (err as Error).message;
    }
    expect(message).toMatch(/private key/);
    expect(message).not.toContain(xprv.slice(4, 20));
  });

  it('refuses BIP49 keys, garbage and bad indexes', () => {
    expect(() => bitcoinCodec.deriveAddress(bitcoin, relabel(BIP84_ZPUB, 0x049d7cb2), 0)).toThrow(/BIP49/);
    expect(() => bitcoinCodec.deriveAddress(bitcoin, relabel(BIP84_ZPUB, 0x01020304), 0)).toThrow(/unknown extended key version 0x01020304/);
    expect(() => bitcoinCodec.deriveAddress(bitcoin, 'not-a-key', 0)).toThrow(CodecError);
    expect(() => bitcoinCodec.deriveAddress(bitcoin, `${BIP84_ZPUB.slice(0, -1)}t`, 0)).toThrow(/bad checksum/);
    for (const index of [-1, 1.5, 2 ** 31, Number.NaN]) expect(() => bitcoinCodec.deriveAddress(bitcoin, BIP84_ZPUB, index)).toThrow(/index/);
  });
});

describe('paymentUri (BIP21)', () => {
  const ltc = litecoin.nativeCoin;

  it('builds litecoin:<address>?amount=..&label=..&message=.. with the amount as a decimal string', () => {
    expect(
      bitcoinCodec.paymentUri(litecoin, {
        address: 'LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLU',
        coin: ltc,
        amount: 150_000_000n,
        label: 'Order #42 & co',
        message: 'thanks!',
      }),
    ).toBe('litecoin:LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLU?amount=1.5&label=Order%20%2342%20%26%20co&message=thanks!');
    expect(bitcoinCodec.paymentUri(devLtc, { address: 'rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8k', coin: devLtc.nativeCoin, amount: 1n })).toBe(
      'litecoin:rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8k?amount=0.00000001',
    );
    expect(
      bitcoinCodec.paymentUri(bitcoin, { address: 'BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4', coin: bitcoin.nativeCoin, amount: 2_100_000_000_000_000n }),
    ).toBe('bitcoin:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4?amount=21000000');
  });

  it('leaves the amount out for an open amount', () => {
    expect(bitcoinCodec.paymentUri(litecoin, { address: 'LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLU', coin: ltc })).toBe('litecoin:LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLU');
  });

  it('refuses invalid addresses, other coins and non-positive amounts', () => {
    expect(() => bitcoinCodec.paymentUri(litecoin, { address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4', coin: ltc })).toThrow(/wrong network prefix/);
    expect(() => bitcoinCodec.paymentUri(litecoin, { address: 'LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLU', coin: bitcoin.nativeCoin })).toThrow(/not paid on/);
    expect(() => bitcoinCodec.paymentUri(litecoin, { address: 'LTCPodha2LAxSyBGsGfkWcmKDEB8cWrqLU', coin: ltc, amount: 0n })).toThrow(/positive/);
  });
});
