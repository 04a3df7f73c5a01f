import type { RpcTransport } from '../types';

/**
 * Next nonce per sending address, in memory. One signer process owns each hot wallet (see
 * DESIGN: signers per hot wallet), so counting locally lets it sign several transactions before
 * any of them reaches the node, which eth_getTransactionCount alone cannot do.
 *
 * Work on one address is serialised (two signs must never get the same nonce); different
 * addresses run in parallel. The count is (re)read from eth_getTransactionCount(pending) on
 * first use and after anything went wrong, because after an error we cannot know whether the
 * nonce was consumed.
 */
export class NonceManager {
  private readonly next = new Map<string, number>();
  private readonly tails = new Map<string, Promise<unknown>>();

  constructor(private readonly transport: RpcTransport) {}

  /**
   * Called once per transaction to sign: runs `use` with the address's next nonce, holding the
   * address's lock. The nonce counts as used when `use` resolves; if it throws, the count is
   * forgotten and re-read next time. Not idempotent: each successful call consumes a nonce.
   */
  async withNonce<T>(address: string, use: (nonce: number) => Promise<T>): Promise<T> {
    const key = address.toLowerCase();
    const previous = this.tails.get(key) ?? Promise.resolve();
    const run = previous.then(async () => {
      let nonce = this.next.get(key);
      if (nonce === undefined) nonce = Number(await this.transport.call<string>('eth_getTransactionCount', [address, 'pending']));
      try {
        const result = await use(nonce);
        this.next.set(key, nonce + 1);
        return result;
      } catch (err) {
        this.next.delete(key);
        throw err;
      }
    });
    // The chain continues after failures too; only the tail's identity matters for cleanup.
    const tail = run.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return run;
  }

  /**
   * Called when a broadcast was rejected (or anything else suggests the local count is wrong):
   * the next withNonce re-reads it from the node. Idempotent.
   */
  invalidate(address: string): void {
    this.next.delete(address.toLowerCase());
  }
}
