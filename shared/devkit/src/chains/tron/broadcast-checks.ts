import { recover } from 'tiny-secp256k1';
import { utils as tronUtils } from 'tronweb';
import { tronAddressFromPublicKey, tronBase58ToHex, tronHexToBase58 } from '@cpg/chains/tron/address';
import { refBlockFields, sha256Hex, type TronContractJson, type TronTransactionJson } from '@cpg/chains/tron/protocol';
import type { ChainState } from './chain-state';
import { hexMessage } from './wire';

// The checks a real node makes at /wallet/broadcasttransaction, with its refusal codes and
// messages: txID = sha256(raw_data_hex), raw_data_hex = protobuf of raw_data, each signature
// recovers to the owner, TaPoS reference, expiration, duplicates, and the contract's own checks.

const MAX_EXPIRATION_MS = 24 * 3600 * 1000;

type Answer = Record<string, unknown>;
type Refuse = (code: string, message: string) => Answer;

/** Lower-case 41-hex address that produced `signatureHex` over the txID, or null when unrecoverable. */
export function recoverSigner(txID: string, signatureHex: string): string | null {
  if (!/^[0-9a-fA-F]{130}$/.test(signatureHex)) return null;
  const sig = Buffer.from(signatureHex, 'hex');
  let v = sig[64]!;
  if (v >= 27) v -= 27;
  if (v !== 0 && v !== 1) return null;
  try {
    const pub = recover(Buffer.from(txID, 'hex'), sig.subarray(0, 64), v as 0 | 1, false);
    return pub ? tronBase58ToHex(tronAddressFromPublicKey(pub)) : null;
  } catch {
    return null;
  }
}

/** Called per broadcast: the node's answer; an accepted transaction joins the pending pool. */
export function broadcast(chain: ChainState, body: TronTransactionJson): Answer {
  const txid = typeof body?.txID === 'string' ? body.txID : '';
  const refuse: Refuse = (code, message) => ({ code, txid, message: hexMessage(message) });
  const contract = body?.raw_data?.contract;
  if (!txid || typeof body.raw_data_hex !== 'string' || !Array.isArray(contract) || contract.length !== 1) {
    return { Error: 'class org.tron.core.exception.BadItemException : invalid transaction json' };
  }
  let encoded: string;
  try {
    encoded = tronUtils.transaction.txPbToRawDataHex(tronUtils.transaction.txJsonToPb(body)).toLowerCase();
  } catch (err) {
    return { Error: `class com.google.protobuf.InvalidProtocolBufferException : ${(err as Error).message}` };
  }
  // A real node hashes raw_data itself; a txID or raw_data_hex that disagrees with it means the
  // signatures were made over other bytes.
  if (encoded !== body.raw_data_hex.toLowerCase() || sha256Hex(body.raw_data_hex) !== txid) {
    return refuse('SIGERROR', 'Validate signature error: txID is not sha256 of raw_data');
  }
  if (chain.txBlock.has(txid) || chain.pending.some((t) => t.txID === txid)) return refuse('DUP_TRANSACTION_ERROR', 'Dup transaction.');
  const signatures = body.signature ?? [];
  if (signatures.length === 0) return refuse('SIGERROR', 'Validate signature error: miss sig or contract');
  const owner = String((contract[0]!.parameter.value as { owner_address?: string }).owner_address ?? '').toLowerCase();
  const refused = checkSignatures(txid, signatures, owner, refuse) ?? checkTiming(chain, body, refuse) ?? checkContract(chain, contract[0]!, owner, refuse);
  if (refused) return refused;
  chain.pending.push({ visible: false, txID: txid, raw_data: body.raw_data, raw_data_hex: body.raw_data_hex, signature: signatures });
  return { result: true, txid };
}

function checkSignatures(txid: string, signatures: string[], owner: string, refuse: Refuse): Answer | undefined {
  for (const sig of signatures) {
    const signer = recoverSigner(txid, sig);
    if (!signer) return refuse('SIGERROR', `Validate signature error: ${sig} is not a valid signature`);
    if (signer !== owner) {
      return refuse('SIGERROR', `Validate signature error: ${sig} is signed by ${tronHexToBase58(signer)} but it is not contained of permission.`);
    }
  }
  return undefined;
}

/** TaPoS: the referenced block is on this chain; the expiration lies within a day after the head. */
function checkTiming(chain: ChainState, body: TronTransactionJson, refuse: Refuse): Answer | undefined {
  const head = chain.head();
  const headTs = head.block_header!.raw_data.timestamp ?? 0;
  const ref = [...chain.blocks.values()].some((b) => {
    const f = refBlockFields(b.blockID!);
    return f.ref_block_bytes === body.raw_data.ref_block_bytes && f.ref_block_hash === body.raw_data.ref_block_hash;
  });
  if (!ref) return refuse('TAPOS_ERROR', 'Tapos check error: the referenced block is not in this chain');
  if (body.raw_data.expiration <= headTs || body.raw_data.expiration > headTs + MAX_EXPIRATION_MS) {
    return refuse(
      'TRANSACTION_EXPIRATION_ERROR',
      `Transaction expiration, transaction expiration time is ${body.raw_data.expiration}, but latest block time is ${headTs}`,
    );
  }
  return undefined;
}

/** The contract's own validation, as java-tron runs it before accepting the transaction. */
function checkContract(chain: ChainState, contract: TronContractJson, owner: string, refuse: Refuse): Answer | undefined {
  if (chain.resourceModel && !chain.activated.has(owner)) {
    return refuse('CONTRACT_VALIDATE_ERROR', `Contract validate error : Account[${owner}] does not exist`);
  }
  if (contract.type === 'DelegateResourceContract' || contract.type === 'UnDelegateResourceContract') {
    const v = contract.parameter.value as { owner_address: string; receiver_address: string; balance?: number; resource?: string };
    const sun = BigInt(v.balance ?? 0);
    if (v.resource !== 'ENERGY') return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : this fake node delegates ENERGY only');
    if (contract.type === 'DelegateResourceContract') {
      if (sun < 1_000_000n) return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : delegateBalance must be greater than or equal to 1 TRX');
      if (!chain.activated.has(v.receiver_address))
        return refuse('CONTRACT_VALIDATE_ERROR', `Contract validate error : Account[${v.receiver_address}] does not exist`);
      const free = (chain.stakedEnergy.get(v.owner_address) ?? 0n) - chain.delegatedOut(v.owner_address);
      if (sun > free)
        return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : delegateBalance must be less than or equal to available FreezeEnergyV2 balance');
    } else if (sun <= 0n || sun > (chain.delegations.get(`${v.owner_address}:${v.receiver_address}`) ?? 0n)) {
      return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : insufficient delegatedFrozenBalance(Energy), request=' + sun.toString());
    }
  }
  if (contract.type === 'TransferContract') {
    const v = contract.parameter.value as { owner_address: string; to_address: string; amount: number };
    if (!(v.amount > 0)) return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : Amount must be greater than 0.');
    if (v.owner_address === v.to_address) return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : Cannot transfer TRX to yourself.');
    if ((chain.trx.get(v.owner_address) ?? 0n) < BigInt(v.amount)) {
      return refuse('CONTRACT_VALIDATE_ERROR', 'Contract validate error : Validate TransferContract error, balance is not sufficient.');
    }
  }
  return undefined;
}
