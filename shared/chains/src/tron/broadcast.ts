import { ChainError, type RpcTransport, type SignedTransaction } from '../types';
import { type TronBroadcastJson, type TronTransactionJson, type TronTxInfoJson, decodeNodeMessage, tronPost } from './protocol';

const TRANSIENT_BROADCAST_CODES = new Set(['SERVER_BUSY', 'NO_CONNECTION', 'NOT_ENOUGH_EFFECTIVE_CONNECTION', 'BLOCK_UNSOLIDIFIED']);

/**
 * Sends a signed Tron transaction (the JSON the signer produced; no key involved). Called by the
 * signer after it stored the transaction and by the collector for its sweeps, again on retries.
 * Idempotent: a duplicate is success, and so is any refusal (expired, TaPoS) of a transaction
 * that is already in a block.
 */
export async function broadcastTronTransaction(transport: Pick<RpcTransport, 'post'>, tx: Pick<SignedTransaction, 'txHash' | 'raw'>): Promise<string> {
  let body: TronTransactionJson;
  try {
    body = JSON.parse(tx.raw) as TronTransactionJson;
  } catch {
    throw new Error('raw is not a signed Tron transaction (JSON expected)');
  }
  if (body.txID !== tx.txHash) throw new Error(`raw transaction ${body.txID} does not match txHash ${tx.txHash}`);
  const res = await tronPost<TronBroadcastJson>(transport, '/wallet/broadcasttransaction', body);
  if (res.result === true) {
    if (res.txid && res.txid !== tx.txHash) throw new ChainError(`node accepted ${res.txid}, expected ${tx.txHash}`, false, res);
    return tx.txHash;
  }
  const code = res.code ?? 'UNKNOWN';
  const message = decodeNodeMessage(res.message);
  if (code === 'DUP_TRANSACTION_ERROR') return tx.txHash;
  if (TRANSIENT_BROADCAST_CODES.has(code)) throw new ChainError(`broadcast ${tx.txHash}: ${code} ${message}`, true, res);
  const info = await tronPost<TronTxInfoJson>(transport, '/wallet/gettransactioninfobyid', { value: tx.txHash });
  if (info.id === tx.txHash) return tx.txHash;
  throw new ChainError(`broadcast ${tx.txHash} refused: ${code} ${message}`, false, res);
}
