import { createHash, timingSafeEqual } from 'node:crypto';
import type { Bus, RpcReply } from '@cpg/core/bus';
import { API_KEY_LENGTH, type ApiScope, type Identity, AppError, apiKeyPrefix, apiKeyProof } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import { LruMap } from './rate-limit';

interface CacheEntry {
  identity: Identity | null;
  reason?: string;
  expires: number;
}

/**
 * Turns an Authorization header into an Identity. API keys are checked by the merchant service
 * (request-reply) and cached for at most `cacheMs` (<= 1 s), so a revoked key stops working
 * within a second on every replica without any invalidation message. The key itself never goes
 * on the bus: only its public prefix and a proof derived from it (see api-key-proof).
 */
export class Authenticator {
  // Bounded, least recently used out first: a flood of random keys cannot flush the good ones.
  private readonly cache = new LruMap<string, CacheEntry>(10_000);
  private readonly inFlight = new Map<string, Promise<RpcReply<'merchant.verify_api_key'>>>();
  private readonly operatorDigest: Buffer;
  private readonly maxAuthorization: number;

  constructor(
    private readonly bus: Bus,
    operatorToken: string,
    private readonly cacheMs: number,
    private readonly log: Logger,
  ) {
    this.operatorDigest = digest(operatorToken);
    // Room for the scheme and blanks around the longest credential we could accept.
    this.maxAuthorization = 32 + Math.max(API_KEY_LENGTH, operatorToken.length);
  }

  /** Called once per HTTP request and per graphql-ws connection. Throws UNAUTHENTICATED/UNAVAILABLE. */
  async identify(authorization: string | undefined): Promise<Identity> {
    if (!authorization) return { kind: 'anonymous' };
    // Bounded before any parsing: an oversized header is refused without being read.
    if (authorization.length > this.maxAuthorization) throw new AppError('UNAUTHENTICATED', 'Authorization header too long');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) throw new AppError('UNAUTHENTICATED', 'Authorization must be "Bearer <API key or operator token>"');
    const token = m[1]!;
    const d = digest(token);
    if (timingSafeEqual(d, this.operatorDigest)) return { kind: 'operator' };
    // Not the shape of any key we issue: nothing to ask the merchant service about.
    const prefix = apiKeyPrefix(token);
    if (!prefix) throw new AppError('UNAUTHENTICATED', 'malformed API key');

    const key = d.toString('hex');
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expires > now) {
      if (!hit.identity) throw new AppError('UNAUTHENTICATED', hit.reason ?? 'invalid API key');
      return hit.identity;
    }
    // One lookup per key at a time: a burst of requests (or subscribes) on a cold key asks the
    // merchant service once, not once per request.
    let pending = this.inFlight.get(key);
    if (!pending) {
      pending = this.bus.request('merchant.verify_api_key', { prefix, proof: apiKeyProof(token) }).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    let reply;
    try {
      reply = await pending;
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'API key lookup failed');
      throw new AppError('UNAVAILABLE', 'cannot verify API keys right now; retry shortly');
    }
    if (!reply.ok) {
      this.cache.set(key, { identity: null, reason: reply.reason, expires: now + this.cacheMs });
      throw new AppError('UNAUTHENTICATED', reply.reason);
    }
    const identity: Identity = { kind: 'merchant', merchantId: reply.merchantId, keyId: reply.keyId, scopes: reply.scopes as ApiScope[] };
    this.cache.set(key, { identity, expires: now + this.cacheMs });
    return identity;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
