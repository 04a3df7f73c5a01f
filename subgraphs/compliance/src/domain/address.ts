/**
 * Address keys for list lookups. Lists (OFAC, grey lists, our own transfers) write addresses in
 * whatever case they were published in, so one address must map to one key:
 * - EVM 0x addresses: lower-case (EIP-55 case is only a checksum);
 * - bech32 / bech32m (bc1..., ltc1..., tb1...): lower-case (the format is case-insensitive);
 * - everything else (base58: legacy Bitcoin, Tron T...): as is, base58 is case-sensitive.
 */
export function addressKey(address: string): string {
  // Hot path (every screening): a 0x address needs no regex; a malformed one matches no list anyway.
  if (address.length === 42 && address.charCodeAt(0) === 48 && address.charCodeAt(1) === 120) return address.toLowerCase();
  const a = address.trim();
  if (/^0x[0-9a-fA-F]{40}$/.test(a)) return a.toLowerCase();
  if (/^[a-zA-Z]{1,83}1[02-9ac-hj-np-zAC-HJ-NP-Z]{6,}$/.test(a) && (a === a.toLowerCase() || a === a.toUpperCase())) return a.toLowerCase();
  return a;
}

export type AddressShape = 'EVM' | 'TRON' | 'OTHER';

export function addressShape(address: string): AddressShape {
  if (/^0x[0-9a-fA-F]{40}$/.test(address)) return 'EVM';
  if (/^T[1-9A-HJ-NP-Za-km-z]{33}$/.test(address)) return 'TRON';
  return 'OTHER';
}
