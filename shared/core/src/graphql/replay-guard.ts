import { MAX_FUTURE_SKEW_SECONDS } from './identity';

export type NonceVerdict = 'fresh' | 'replayed' | 'full';

/**
 * The nonces of gateway-signed requests this process accepted, each kept until its signature
 * could no longer pass the timestamp check anyway; a nonce seen again before then is a replay.
 *
 * Held per process: a request captured on its way to one replica can still be replayed once to
 * another replica of the same subgraph. Only requests whose signature verified are recorded, so
 * nobody without the gateway secret can fill it.
 *
 * Bounded: when `capacity` live nonces are held, a new one is refused ('full') rather than an
 * older one forgotten, because forgetting would reopen the replay it was kept for. That needs
 * more than `capacity` signed requests to this process within one window (~66 s by default).
 */
export class ReplayGuard {
  // Insertion order is expiry order (each entry lives the same span from its arrival), so the
  // expired ones are always at the front and eviction stops at the first live one. Should the
  // clock step back, later entries wait behind an earlier one: kept longer, never forgotten early.
  private readonly seen = new Map<string, number>();
  private readonly rememberMs: number;

  constructor(
    maxAgeSeconds: number,
    private readonly capacity = 100_000,
  ) {
    // A timestamp may be up to MAX_FUTURE_SKEW_SECONDS ahead and is whole seconds: its signature
    // passes the age check until at most arrival + skew + maxAge + 1 s.
    this.rememberMs = (maxAgeSeconds + MAX_FUTURE_SKEW_SECONDS + 1) * 1000;
  }

  /** Records the nonce of a verified request, or says why it must be refused. */
  admit(nonce: string, now = Date.now()): NonceVerdict {
    for (const [seenNonce, forgetAt] of this.seen) {
      if (forgetAt > now) break;
      this.seen.delete(seenNonce);
    }
    if (this.seen.has(nonce)) return 'replayed';
    if (this.seen.size >= this.capacity) return 'full';
    this.seen.set(nonce, now + this.rememberMs);
    return 'fresh';
  }

  get size(): number {
    return this.seen.size;
  }
}
