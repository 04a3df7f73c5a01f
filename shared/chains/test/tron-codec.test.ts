import { createHash } from 'node:crypto';
import * as ecc from 'tiny-secp256k1';
import { BIP32Factory } from 'bip32';
import { mnemonicToSeedSync } from 'bip39';
import { TronWeb } from 'tronweb';
import { getNetwork } from '../src/networks';
import { base58Decode, base58Encode, checkTronAddress, tronBase58ToHex, tronBodyToBase58, tronHexToBase58 } from '../src/tron/address';
import { tronCodec } from '../src/tron/codec';
import { readTronFixture } from '@cpg/devkit/chains/tron/fake-node';
import { pbField, type TronTransactionJson } from '../src/tron/protocol';

const tron = getNetwork('tron', {});
const shasta = getNetwork('tron-shasta', {});
const bip32 = BIP32Factory(ecc);
const MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

/** owner (field 1) and second address (field 2) of the single contract in raw_data_hex. */
function contractAddresses(rawDataHex: string): [string, string] {
  const contract = pbField(Buffer.from(rawDataHex, 'hex'), 11) as Uint8Array;
  const value = pbField(pbField(contract, 2) as Uint8Array, 2) as Uint8Array;
  return [Buffer.from(pbField(value, 1) as Uint8Array).toString('hex'), Buffer.from(pbField(value, 2) as Uint8Array).toString('hex')];
}

describe('tron address encodings against recorded responses', () => {
  it('base58 and hex spellings recorded for the same transaction agree (visible:true JSON vs raw_data_hex)', () => {
    for (const file of ['chainlink-tron-shasta/triggerconstantcontract.json', 'chainlink-tron-shasta/triggersmartcontract.json']) {
      const { transaction } = readTronFixture<{ transaction: TronTransactionJson }>(file);
      const value = transaction.raw_data.contract[0]!.parameter.value as { owner_address: string; contract_address: string };
      const [ownerHex, contractHex] = contractAddresses(transaction.raw_data_hex);
      expect(value.owner_address).toBe('TZ4UXDV5ZhNW7fb2AMSbgfAEZ7hWsnYS2g');
      expect(ownerHex).toBe('41fd49eda0f23ff7ec1d03b52c3a45991c24cd440e');
      expect(tronBase58ToHex(value.owner_address)).toBe(ownerHex);
      expect(tronHexToBase58(ownerHex)).toBe(value.owner_address);
      expect(value.contract_address).toBe('TG3XXyExBkPp9nzdajDZsozEu4BkaSJozs');
      expect(tronBase58ToHex(value.contract_address)).toBe(contractHex);
      expect(tronHexToBase58(contractHex)).toBe(value.contract_address);
    }
  });

  it('TronGrid v1 base58 from/to match the hex of the same recorded USDT transfer', () => {
    const item = readTronFixture<TronTransactionJson>('metamask-mainnet-mocks/trongrid_v1_account_transaction_item_trc20_usdt_transfer.json');
    const list = readTronFixture<{ data: { transaction_id: string; from: string; to: string; token_info: { address: string } }[] }>(
      'metamask-mainnet-mocks/trongrid_v1_account_trc20_transactions_response.json',
    );
    const entry = list.data.find((d) => d.transaction_id === item.txID)!;
    const value = item.raw_data.contract[0]!.parameter.value as { owner_address: string; contract_address: string; data: string };
    expect(tronHexToBase58(value.owner_address)).toBe(entry.from);
    expect(entry.from).toBe('TGJn1wnUYHJbvN88cynZbsAz2EMeZq73yx');
    expect(tronBodyToBase58(value.data.slice(8 + 24, 8 + 64))).toBe(entry.to);
    expect(entry.to).toBe('TEFik7dGm6r5Y1Af9mGwnELuJLa1jXDDUB');
    expect(tronHexToBase58(value.contract_address)).toBe(entry.token_info.address);
    expect(entry.token_info.address).toBe('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t');
  });

  it('log addresses and topics (20-byte, no 41) convert like the 41-prefixed transaction fields', () => {
    const { transaction, info } = readTronFixture<{ transaction: TronTransactionJson; info: { log: { address: string; topics: string[] }[] } }>(
      'metamask-mainnet-captures/09ced8884304c13fed8642595593f6c3724173d6848e64a3f27849b055249429.json',
    );
    const value = transaction.raw_data.contract[0]!.parameter.value as { owner_address: string; contract_address: string };
    const log = info.log[0]!;
    expect(tronBodyToBase58(log.address)).toBe(tronHexToBase58(value.contract_address));
    expect(tronBodyToBase58(log.address)).toBe('TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t');
    expect(tronBodyToBase58(log.topics[1]!.slice(-40))).toBe(tronHexToBase58(value.owner_address));
    expect(tronBodyToBase58(log.topics[1]!.slice(-40))).toBe('TPoQq65NQYpYTBcxCUozQPUDKSHHdXuTLi');
    expect(tronBodyToBase58(log.topics[2]!.slice(-40))).toBe('TLPMDDSEH7g12TRrNT6VXS5CfrWNMkNpJf');
  });

  it('every hex address in the recorded Shasta block converts as tronweb converts it', () => {
    const block = readTronFixture<{ transactions: TronTransactionJson[] }>('chainlink-tron-shasta/getnowblock.json');
    const hexes = block.transactions.flatMap((t) => {
      const v = t.raw_data.contract[0]!.parameter.value as Record<string, string>;
      return [v.owner_address, v.to_address, v.contract_address].filter((x): x is string => !!x);
    });
    expect(hexes.length).toBe(10);
    for (const hex of hexes) {
      const b58 = tronHexToBase58(hex);
      expect(b58).toBe(TronWeb.address.fromHex(hex));
      expect(tronBase58ToHex(b58)).toBe(hex);
      expect(tronCodec.validateAddress(shasta, b58)).toEqual({ valid: true, normalized: b58 });
    }
  });

  it('base58 round-trips bytes with leading zeros', () => {
    const bytes = Uint8Array.from([0, 0, 1, 2, 255, 0]);
    expect(base58Decode(base58Encode(bytes))).toEqual(bytes);
    expect(base58Encode(new Uint8Array(0))).toBe('');
  });
});

describe('tronCodec.validateAddress', () => {
  const valid = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';

  it('accepts a recorded address and keeps it as is', () => {
    expect(tronCodec.validateAddress(tron, valid)).toEqual({ valid: true, normalized: valid });
    expect(tronCodec.validateAddress(tron, 'TZ4UXDV5ZhNW7fb2AMSbgfAEZ7hWsnYS2g').valid).toBe(true);
  });

  it.each([
    ['bad checksum', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u', /checksum/],
    ['changed character', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj7t', /checksum/],
    ['wrong prefix (Bitcoin version 0x00)', '1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa', /version byte 0x00/],
    ['too short', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgj', /decodes to 22 bytes; a Tron address is 25/],
    ['too long', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6tt', /decodes to 26 bytes/],
    ['hex where base58 is expected', '41a614f803b6fd780986a42c78ec9c7f77e6ded13c', /hex address/],
    ['0x41 hex', '0x41a614f803b6fd780986a42c78ec9c7f77e6ded13c', /hex address/],
    ['EVM address', '0xdAC17F958D2ee523a2206206994597C13D831ec7', /EVM/],
    ['non-base58 characters', 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj0O', /outside base58/],
    ['empty', '', /empty/],
    ['surrounding whitespace', ` ${valid}`, /whitespace/],
  ])('refuses %s with a reason', (_name, address, reason) => {
    const r = tronCodec.validateAddress(tron, address);
    expect(r.valid).toBe(false);
    expect(r.reason).toMatch(reason);
    expect(r.normalized).toBeUndefined();
  });

  it('refuses a checksum-valid 25-byte payload with another version byte', () => {
    const payload = Buffer.from(tronBase58ToHex(valid), 'hex');
    payload[0] = 0xa0;
    const sum = createHash('sha256').update(createHash('sha256').update(payload).digest()).digest().subarray(0, 4);
    const other = base58Encode(Buffer.concat([payload, sum]));
    expect(checkTronAddress(other)).toEqual({ ok: false, reason: expect.stringMatching(/version byte 0xa0/) });
  });

  it('refuses non-Tron networks', () => {
    expect(() => tronCodec.validateAddress(getNetwork('ethereum', {}), valid)).toThrow(/EVM/);
  });
});

describe('tronCodec.deriveAddress', () => {
  const root = bip32.fromSeed(mnemonicToSeedSync(MNEMONIC));
  const account = root.derivePath("m/44'/195'/0'");
  const xpub = account.neutered().toBase58();

  it("derives m/44'/195'/0'/0/i exactly as tronweb's fromMnemonic does", () => {
    for (const i of [0, 1, 2, 7, 1000]) {
      const ours = tronCodec.deriveAddress(tron, xpub, i);
      const theirs = TronWeb.fromMnemonic(MNEMONIC, `m/44'/195'/0'/0/${i}`) as { address: string; publicKey: string };
      expect(ours.address).toBe(theirs.address);
      expect(ours.path).toBe(`0/${i}`);
      expect(ours.index).toBe(i);
      expect(Buffer.from(ecc.pointCompress(Buffer.from(theirs.publicKey.slice(2), 'hex'), true)).toString('hex')).toBe(ours.publicKey);
      expect(tronCodec.validateAddress(tron, ours.address).valid).toBe(true);
    }
    // Pinned so that a change in either library shows up here too.
    expect(tronCodec.deriveAddress(tron, xpub, 0).address).toBe('TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH');
    expect(tronCodec.deriveAddress(tron, xpub, 1).address).toBe('TSeJkUh4Qv67VNFwY8LaAxERygNdy6NQZK');
  });

  it('matches the bip32 library child by child over the first 300 indexes', () => {
    const chain = account.derive(0);
    for (let i = 0; i < 300; i++) expect(tronCodec.deriveAddress(tron, xpub, i).publicKey).toBe(Buffer.from(chain.derive(i).publicKey).toString('hex'));
  });

  it('is deterministic, also on testnets and from a tpub', () => {
    const tpub = bip32
      .fromSeed(mnemonicToSeedSync(MNEMONIC), { bip32: { public: 0x043587cf, private: 0x04358394 }, wif: 0xef })
      .derivePath("m/44'/195'/0'")
      .neutered()
      .toBase58();
    expect(tpub.startsWith('tpub')).toBe(true);
    expect(tronCodec.deriveAddress(shasta, xpub, 3)).toEqual(tronCodec.deriveAddress(tron, xpub, 3));
    expect(tronCodec.deriveAddress(shasta, tpub, 3).address).toBe(tronCodec.deriveAddress(tron, xpub, 3).address);
  });

  it('refuses private keys, wrong depths, bad strings and bad indexes', () => {
    expect(() => tronCodec.deriveAddress(tron, account.toBase58(), 0)).toThrow(/PUBLIC/);
    expect(() => tronCodec.deriveAddress(tron, root.neutered().toBase58(), 0)).toThrow(/depth 0/);
    expect(() => tronCodec.deriveAddress(tron, 'xpub-nonsense', 0)).toThrow(/not a valid xpub/);
    expect(() => tronCodec.deriveAddress(tron, xpub, -1)).toThrow(/index/);
    expect(() => tronCodec.deriveAddress(tron, xpub, 2 ** 31)).toThrow(/index/);
    expect(() => tronCodec.deriveAddress(tron, xpub, 1.5)).toThrow(/index/);
  });
});

describe('tronCodec.paymentUri', () => {
  const [trx, usdt] = tron.coins as [(typeof tron.coins)[0], (typeof tron.coins)[0]];
  const to = 'TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx';

  it('TRX: amount as a decimal of whole TRX', () => {
    expect(tronCodec.paymentUri(tron, { address: to, coin: trx, amount: 1_500_000n })).toBe(`tron:${to}?amount=1.5`);
    expect(tronCodec.paymentUri(tron, { address: to, coin: trx })).toBe(`tron:${to}`);
  });

  it('TRC-20: adds the token contract', () => {
    expect(tronCodec.paymentUri(tron, { address: to, coin: usdt, amount: 3_358_015n })).toBe(
      `tron:${to}?amount=3.358015&token=TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t`,
    );
    expect(tronCodec.paymentUri(tron, { address: to, coin: usdt, label: 'Shop & Co', message: 'Order #12' })).toBe(
      `tron:${to}?token=TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t&label=Shop%20%26%20Co&message=Order%20%2312`,
    );
  });

  it('refuses an invalid address, a foreign coin and a non-positive amount', () => {
    expect(() => tronCodec.paymentUri(tron, { address: '41a614f803b6fd780986a42c78ec9c7f77e6ded13c', coin: trx })).toThrow(/hex address/);
    expect(() => tronCodec.paymentUri(shasta, { address: to, coin: usdt })).toThrow(/not on network/);
    expect(() => tronCodec.paymentUri(tron, { address: to, coin: trx, amount: 0n })).toThrow(/positive/);
  });
});
