import {
  concat,
  decodeBase58,
  encodeBase58,
  getAddress,
  getBytes,
  HDNodeWallet,
  keccak256 as ethersKeccak,
  Mnemonic,
  randomBytes,
  sha256,
  SigningKey,
} from 'ethers';
import { getNetwork } from '../networks';
import { checkAddress, toChecksumAddress } from './address';
import { EvmCodec, publicKeyToAddress } from './codec';
import { ANVIL_MNEMONIC } from './dev-accounts';
import vectors from '../../../fixtures/evm/eip55_checksum_test_vectors.json';
import { keccak256, keccakBackend, keccakF, RC } from './keccak';
import { createWasmPermutation } from './keccak-wasm';

const network = getNetwork('ethereum', {});
const dev = getNetwork('dev-evm', {});
const codec = new EvmCodec();
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`;

describe('keccak256', () => {
  it('matches ethers on random inputs around every block boundary', () => {
    for (const length of [0, 1, 20, 32, 40, 64, 65, 135, 136, 137, 271, 272, 273, 1000]) {
      for (let round = 0; round < 5; round++) {
        const data = randomBytes(length);
        expect(hex(keccak256(data))).toBe(ethersKeccak(data));
      }
    }
  });

  it('runs the WebAssembly permutation here, and it agrees with the JavaScript fallback', () => {
    expect(keccakBackend).toBe('wasm');
    const wasm = createWasmPermutation(RC)!;
    for (let round = 0; round < 20; round++) {
      const random = new Int32Array(Uint8Array.from(randomBytes(200)).buffer);
      wasm.state.set(random);
      const js = Int32Array.from(random);
      wasm.permute();
      keccakF(js);
      expect(Array.from(wasm.state)).toEqual(Array.from(js));
    }
  });

  it('hashes the empty input to the well-known digest', () => {
    expect(hex(keccak256(new Uint8Array()))).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
  });
});

describe('EIP-55 addresses', () => {
  const all = vectors.groups.flatMap((g) => g.addresses.map((address) => ({ group: g.comment, address })));

  it.each(all)('accepts the EIP-55 vector $address ($group) and normalises it', ({ address }) => {
    const result = codec.validateAddress(network, address);
    expect(result).toEqual({ valid: true, normalized: getAddress(address.toLowerCase()) });
  });

  it('keeps the "Normal" vectors exactly as written: they are already checksummed', () => {
    for (const address of vectors.groups.find((g) => g.comment === 'Normal')!.addresses) {
      expect(toChecksumAddress(address.toLowerCase())).toBe(address);
      expect(codec.validateAddress(network, address.toUpperCase().replace(/^0X/, '0x')).normalized).toBe(address);
    }
  });

  it('rejects a mixed-case address whose checksum does not match', () => {
    for (const address of vectors.groups.find((g) => g.comment === 'Normal')!.addresses) {
      // flip the case of the first letter: still mixed case, now a wrong checksum
      const i = address.slice(2).search(/[a-fA-F]/) + 2;
      const ch = address[i]!;
      const flipped = address.slice(0, i) + (ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()) + address.slice(i + 1);
      const result = codec.validateAddress(network, flipped);
      expect(result.valid).toBe(false);
      expect(result.reason).toMatch(/checksum/);
    }
  });

  it.each([
    ['', /0x/],
    ['5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', /0x/],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe', /40 hex digits/],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00', /40 hex digits/],
    ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg', /hex digit/],
    ['0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae d', /hex digit/],
    ['0x0000000000000000000000000000000000000000', /zero address/],
    ['TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t', /0x/],
  ])('rejects %j', (input, reason) => {
    const result = codec.validateAddress(network, input);
    expect(result.valid).toBe(false);
    expect(result.reason).toMatch(reason);
  });

  it('ignores surrounding whitespace of a pasted address', () => {
    expect(codec.validateAddress(network, '  0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\n')).toEqual({
      valid: true,
      normalized: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    });
  });

  it('checksums like ethers for random addresses', () => {
    for (let i = 0; i < 200; i++) {
      const lower = hex(randomBytes(20));
      expect(toChecksumAddress(lower)).toBe(getAddress(lower));
      expect(checkAddress(lower.toUpperCase().replace('0X', '0x'))).toEqual({ ok: true, address: getAddress(lower) });
    }
  });
});

describe('deriveAddress', () => {
  const account = HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(ANVIL_MNEMONIC), "m/44'/60'/0'");
  const xpub = account.neuter().extendedKey;

  it("derives anvil's well-known accounts from the account xpub (m/44'/60'/0' then 0/i)", () => {
    expect(codec.deriveAddress(dev, xpub, 0)).toEqual({
      address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
      path: '0/0',
      index: 0,
      publicKey: account.derivePath('0/0').publicKey.slice(2),
    });
    expect(codec.deriveAddress(dev, xpub, 1).address).toBe('0x70997970C51812dc3A010C7d01b50e0d17dc79C8');
  });

  it('agrees with ethers for a random wallet, at low and high indexes', () => {
    const random = HDNodeWallet.fromMnemonic(Mnemonic.fromEntropy(randomBytes(16)), "m/44'/60'/7'");
    for (const index of [0, 1, 2, 99, 2 ** 31 - 1]) {
      expect(codec.deriveAddress(network, random.neuter().extendedKey, index).address).toBe(random.derivePath(`0/${index}`).address);
    }
  });

  it('accepts the testnet (tpub) encoding of the same account', () => {
    // Re-encode the xpub with tpub version bytes: same key material, other network prefix.
    const raw = getBytes(`0x${decodeBase58(xpub).toString(16).padStart(164, '0')}`).slice(0, 78);
    raw.set([0x04, 0x35, 0x87, 0xcf], 0);
    const tpub = encodeBase58(concat([raw, getBytes(sha256(sha256(raw))).slice(0, 4)]));
    expect(tpub.startsWith('tpub')).toBe(true);
    expect(codec.deriveAddress(dev, tpub, 0).address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266');
  });

  it('refuses private keys, non-account nodes and bad indexes', () => {
    expect(() => codec.deriveAddress(dev, account.extendedKey, 0)).toThrow(/PRIVATE/);
    expect(() => codec.deriveAddress(dev, account.derivePath('0').neuter().extendedKey, 0)).toThrow(/depth 3/);
    expect(() => codec.deriveAddress(dev, 'xpub-nonsense', 0)).toThrow(/extended public key/);
    expect(() => codec.deriveAddress(dev, xpub, -1)).toThrow(/index/);
    expect(() => codec.deriveAddress(dev, xpub, 2 ** 31)).toThrow(/index/);
    expect(() => codec.deriveAddress(dev, xpub, 1.5)).toThrow(/index/);
  });

  it('derives the same address from a compressed or an uncompressed public key', () => {
    const node = account.derivePath('0/3');
    const uncompressed = Buffer.from(SigningKey.computePublicKey(node.publicKey, false).slice(2), 'hex');
    expect(publicKeyToAddress(Buffer.from(node.publicKey.slice(2), 'hex'))).toBe(node.address);
    expect(publicKeyToAddress(uncompressed)).toBe(node.address);
  });
});

describe('paymentUri (EIP-681)', () => {
  const eth = network.coins.find((c) => c.symbol === 'ETH')!;
  const usdt = network.coins.find((c) => c.symbol === 'USDT')!;
  const to = '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed';

  it('native coin: address@chainId?value=wei', () => {
    expect(codec.paymentUri(network, { address: to, coin: eth, amount: 1_500_000_000_000_000_000n })).toBe(
      'ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1?value=1500000000000000000',
    );
    expect(codec.paymentUri(network, { address: to, coin: eth })).toBe('ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed@1');
  });

  it('token: contract@chainId/transfer?address=to&uint256=units', () => {
    expect(codec.paymentUri(network, { address: to, coin: usdt, amount: 25_000_000n, label: 'ignored' })).toBe(
      'ethereum:0xdAC17F958D2ee523a2206206994597C13D831ec7@1/transfer?address=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed&uint256=25000000',
    );
    const devUsdt = dev.coins.find((c) => c.symbol === 'USDT')!;
    expect(codec.paymentUri(dev, { address: to, coin: devUsdt })).toBe(
      'ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3@31337/transfer?address=0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed',
    );
  });

  it('refuses a bad address or a coin of another network', () => {
    expect(() => codec.paymentUri(network, { address: '0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD', coin: eth })).toThrow(/checksum/);
    expect(() => codec.paymentUri(network, { address: to, coin: dev.coins[1]! })).toThrow(/not on network/);
  });
});
