import { bitcoinCodec } from './bitcoin/codec';
import { evmCodec } from './evm/codec';
import { tronCodec } from './tron/codec';
import type { ChainCodec, NetworkFamily } from './types';

const CODECS: Record<NetworkFamily, ChainCodec> = { BITCOIN: bitcoinCodec, EVM: evmCodec, TRON: tronCodec };

/** The pure codec of a family: what subgraphs may use to validate, derive and build URIs. */
export function codecFor(family: NetworkFamily): ChainCodec {
  return CODECS[family];
}
