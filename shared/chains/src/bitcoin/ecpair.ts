import { ECPairFactory } from 'ecpair';
import * as ecc from 'tiny-secp256k1';

/** Key pairs over tiny-secp256k1, for the family's signing modules (signer, replace, consolidate). */
export const ECPair = ECPairFactory(ecc);

/** The check a PSBT runs over its inputs' signatures before it is finalised. */
export const signatureValid = (pubkey: Uint8Array, msghash: Uint8Array, signature: Uint8Array): boolean => ecc.verify(msghash, pubkey, signature);
