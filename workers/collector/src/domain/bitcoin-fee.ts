/**
 * Size and fee of a Bitcoin-family consolidation: many P2WPKH inputs (the merchant's USER
 * addresses) into one output per destination. Pure; weights per BIP141, with the largest DER
 * signature (73 bytes with its sighash byte) so the estimate never undershoots the real rate.
 *
 * A P2WPKH input weighs 4 x 41 (outpoint 36, empty scriptSig length 1, sequence 4) + 109 (witness:
 * item count 1, signature length 1 + 73, key length 1 + 33) = 273 WU, i.e. 68.25 vB; a real
 * signature is 71-72 bytes, so 68 vB is the floor and what a node usually measures.
 */
export const P2WPKH_INPUT_WEIGHT = 4 * (36 + 1 + 4) + (1 + 1 + 73 + 1 + 33);
/** The per-input floor (with a 71-byte signature) a benchmark compares against. */
export const P2WPKH_INPUT_VBYTES_FLOOR = 67.75;

function varintSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : 5;
}

/** Output script lengths: P2WPKH 22, P2WSH and P2TR 34, P2PKH 25, P2SH 23. */
export function outputScriptLength(kind: 'p2wpkh' | 'p2wsh' | 'p2tr' | 'p2pkh' | 'p2sh'): number {
  return { p2wpkh: 22, p2wsh: 34, p2tr: 34, p2pkh: 25, p2sh: 23 }[kind];
}

/** Virtual size of a segwit transaction spending `inputs` P2WPKH outputs into outputs of the given script lengths. */
export function consolidationVsize(inputs: number, outputScriptLengths: number[]): number {
  if (!Number.isInteger(inputs) || inputs < 1) throw new RangeError(`inputs must be a positive integer, got ${inputs}`);
  if (outputScriptLengths.length < 1) throw new RangeError('a consolidation needs at least one output');
  let weight = 4 * (4 + 4 + varintSize(inputs) + varintSize(outputScriptLengths.length)) + 2 + inputs * P2WPKH_INPUT_WEIGHT;
  for (const len of outputScriptLengths) weight += 4 * (8 + varintSize(len) + len);
  return Math.ceil(weight / 4);
}

/** Fee in satoshis at `satPerKvB` (sat per 1000 vB, as nodes quote it), rounded up. */
export function consolidationFee(inputs: number, outputScriptLengths: number[], satPerKvB: bigint): bigint {
  if (satPerKvB < 0n) throw new RangeError('fee rate must not be negative');
  return (BigInt(consolidationVsize(inputs, outputScriptLengths)) * satPerKvB + 999n) / 1000n;
}

/** What one more P2WPKH input adds to the fee (its weight in vbytes, rounded up). */
export function marginalInputFee(satPerKvB: bigint): bigint {
  return (BigInt(P2WPKH_INPUT_WEIGHT) * satPerKvB + 3999n) / 4000n;
}
