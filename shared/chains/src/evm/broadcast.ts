import { Transaction } from 'ethers';
import { ChainError, type NetworkConfig, type RpcTransport, type SignedTransaction } from '../types';

/**
 * Sends a signed EVM transaction (no key involved). Called by the signer after it stored the
 * transaction and by the collector for its sweeps, again with the same one on every retry.
 * Idempotent: a transaction the node already has, or has already mined, counts as broadcast.
 * Nodes say so in different words ("already known", "already imported"; a mined one is only
 * "nonce too low"), so a nonce-too-low answer is checked against the node's copy of our hash.
 * Any other rejection means the nonce was not used: `onRejected` hears the sender first (the
 * signer re-reads its nonce count).
 */
export async function broadcastEvmTransaction(
  network: NetworkConfig,
  transport: Pick<RpcTransport, 'call'>,
  tx: Pick<SignedTransaction, 'txHash' | 'raw'>,
  onRejected?: (from: string) => void,
): Promise<string> {
  const parsed = Transaction.from(tx.raw);
  if (!parsed.hash || parsed.hash.toLowerCase() !== tx.txHash.toLowerCase()) throw new Error(`signed transaction does not hash to ${tx.txHash}`);
  const from = parsed.from!;
  try {
    await transport.call<string>('eth_sendRawTransaction', [tx.raw]);
    return tx.txHash;
  } catch (err) {
    if (!(err instanceof ChainError) || err.transient) throw err; // unknown outcome: retry the same raw
    if (/already known|known transaction|already imported|alreadyknown|already exists|already in (the )?(mem)?pool/i.test(err.message)) return tx.txHash;
    if (/nonce too low|nonce is too low|invalid nonce|old nonce/i.test(err.message)) {
      const known = await transport.call<unknown>('eth_getTransactionByHash', [tx.txHash]);
      if (known) return tx.txHash;
    }
    onRejected?.(from);
    throw new ChainError(`${network.id}: broadcast of ${tx.txHash} rejected: ${err.message}`, false, err);
  }
}
