import { ChainError, type RpcTransport, type SignedTransaction } from '../types';
import { RPC_VERIFY_ALREADY_IN_CHAIN, rpcErrorCode } from './rpc';

/**
 * Sends a signed Bitcoin-family transaction (no key involved). Called by the signer after it
 * stored the transaction and by the collector for its sweeps, again on every retry. Idempotent:
 * a transaction the node already has in its mempool or chain counts as sent, so a retry after a
 * lost answer succeeds with the same hash.
 */
export async function broadcastBitcoinTransaction(transport: Pick<RpcTransport, 'call'>, tx: Pick<SignedTransaction, 'txHash' | 'raw'>): Promise<string> {
  try {
    const txid = await transport.call<string>('sendrawtransaction', [tx.raw]);
    if (txid !== tx.txHash) throw new ChainError(`node accepted the transaction as ${txid}, expected ${tx.txHash}`, false);
    return txid;
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (
      rpcErrorCode(err) === RPC_VERIFY_ALREADY_IN_CHAIN ||
      /already in block chain|txn-already-known|txn-already-in-mempool|outputs already in utxo set/i.test(msg)
    )
      return tx.txHash;
    throw err;
  }
}
