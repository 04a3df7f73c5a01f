import type { Network } from 'bitcoinjs-lib';
import { BITCOIN_PARAMS } from '../networks';
import { type BitcoinParams, MAX_ADDRESS_LENGTH, type NetworkConfig } from '../types';
import { base58CheckDecode, bech32Decode, decodeSegwit, encodeSegwit } from './encoding';

/**
 * Address <-> output script for one Bitcoin-family network, with a reason for every refusal.
 * Shared by the codec (validation, derivation), the signer (outputs) and tests.
 */

export type AddressKind = 'p2pkh' | 'p2sh' | 'p2wpkh' | 'p2wsh' | 'p2tr';

export interface DecodedAddress {
  kind: AddressKind;
  /** Lower-case for bech32, as given for base58. */
  normalized: string;
  /** 20-byte hash (p2pkh, p2sh, p2wpkh) or 32-byte program (p2wsh, p2tr). */
  program: Uint8Array;
  script: Uint8Array;
}

/** Every reason validateAddress can return; stable, since the API shows them to users. */
export const ADDRESS_REASONS = [
  'empty',
  'contains whitespace',
  'wrong network prefix',
  'bad checksum',
  'unsupported witness version',
  'invalid witness version',
  'missing witness version',
  'invalid program length',
  'invalid padding',
  'invalid characters',
  'mixed case',
  'too long',
  'too short',
  'no separator',
  'missing prefix',
  'wrong length',
] as const;
export type AddressReason = (typeof ADDRESS_REASONS)[number];

export type AddressDecodeResult = ({ ok: true } & DecodedAddress) | { ok: false; reason: AddressReason };

// Every segwit prefix we know, so an address of another network is named as such instead of
// being fed to the base58 decoder and refused for an unhelpful "invalid characters".
const KNOWN_HRPS = new Set<string>([...Object.values(BITCOIN_PARAMS).map((p) => p.bech32), 'bcrt']);

export function paramsOf(network: NetworkConfig): BitcoinParams {
  if (network.family !== 'BITCOIN' || !network.bitcoin) throw new Error(`network ${network.id} is not a Bitcoin-family network`);
  return network.bitcoin;
}

/** The bitcoinjs-lib view of a network (same fields, its own type). */
export function bitcoinjsNetwork(network: NetworkConfig): Network {
  const p = paramsOf(network);
  return { messagePrefix: p.messagePrefix, bech32: p.bech32, bip32: { ...p.bip32 }, pubKeyHash: p.pubKeyHash, scriptHash: p.scriptHash, wif: p.wif };
}

function p2pkhScript(hash: Uint8Array): Uint8Array {
  const s = new Uint8Array(25);
  s[0] = 0x76;
  s[1] = 0xa9;
  s[2] = 0x14;
  s.set(hash, 3);
  s[23] = 0x88;
  s[24] = 0xac;
  return s;
}

function p2shScript(hash: Uint8Array): Uint8Array {
  const s = new Uint8Array(23);
  s[0] = 0xa9;
  s[1] = 0x14;
  s.set(hash, 2);
  s[22] = 0x87;
  return s;
}

export function witnessScript(version: number, program: Uint8Array): Uint8Array {
  const s = new Uint8Array(2 + program.length);
  s[0] = version === 0 ? 0x00 : 0x50 + version;
  s[1] = program.length;
  s.set(program, 2);
  return s;
}

export function decodeAddress(params: BitcoinParams, address: string): AddressDecodeResult {
  if (typeof address !== 'string' || address.length === 0) return { ok: false, reason: 'empty' };
  if (address.length > MAX_ADDRESS_LENGTH) return { ok: false, reason: 'too long' };
  if (/\s/.test(address)) return { ok: false, reason: 'contains whitespace' };
  const lower = address.toLowerCase();
  const sep = lower.lastIndexOf('1');
  const hrp = sep > 0 ? lower.slice(0, sep) : '';
  if (hrp === params.bech32) {
    const d = decodeSegwit(address);
    if (!d.ok) return { ok: false, reason: d.reason };
    // Only the versions with defined spending rules: paying to v2+ (or v1 of another length)
    // is anyone-can-spend today, so accepting one for a withdrawal would give the coins away.
    let kind: AddressKind;
    if (d.version === 0) kind = d.program.length === 20 ? 'p2wpkh' : 'p2wsh';
    else if (d.version === 1 && d.program.length === 32) kind = 'p2tr';
    else return { ok: false, reason: 'unsupported witness version' };
    return { ok: true, kind, normalized: lower, program: d.program, script: witnessScript(d.version, d.program) };
  }
  if (KNOWN_HRPS.has(hrp)) return { ok: false, reason: 'wrong network prefix' };
  const b = base58CheckDecode(address);
  if (!b.ok) {
    if (sep > 0 && bech32Decode(address).ok) return { ok: false, reason: 'wrong network prefix' };
    return { ok: false, reason: b.reason };
  }
  if (b.payload.length !== 21) return { ok: false, reason: 'wrong length' };
  const version = b.payload[0];
  const hash = b.payload.slice(1);
  if (version === params.pubKeyHash) return { ok: true, kind: 'p2pkh', normalized: address, program: hash, script: p2pkhScript(hash) };
  if (version === params.scriptHash) return { ok: true, kind: 'p2sh', normalized: address, program: hash, script: p2shScript(hash) };
  return { ok: false, reason: 'wrong network prefix' };
}

/** Output script paying `address`; throws with the reason when the address is not payable here. */
export function outputScriptOf(params: BitcoinParams, address: string): Uint8Array {
  const d = decodeAddress(params, address);
  if (!d.ok) throw new Error(`address ${JSON.stringify(address)} is not valid on this network: ${d.reason}`);
  return d.script;
}

export function p2wpkhAddressOfHash(params: BitcoinParams, pubkeyHash: Uint8Array): string {
  return encodeSegwit(params.bech32, 0, pubkeyHash);
}

export function p2wshAddressOfHash(params: BitcoinParams, scriptHash: Uint8Array): string {
  return encodeSegwit(params.bech32, 0, scriptHash);
}
