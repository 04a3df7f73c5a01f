import type { GatewayConfig } from '@cpg/core/config';
import { eventually, gql } from '@cpg/devkit/testing';
import type { RunningGateway } from '@cpg/gateway/src/server';
import { type Stack, startStack } from './support/stack';

/**
 * Rate limits hold across gateway replicas (gateway/src/replica-share.ts): two gateways on the
 * same stack, same limits, real NATS under the gateway's own user. A caller whose requests a
 * round-robin balancer spreads over both is limited at the configured rate, not twice it; when one
 * replica dies, the other gives the whole budget again once the heartbeat TTL has passed.
 */
const TTL = 1500;
// A long window: nothing refills during a test, so the counts below are exact.
const LIMITS: Partial<GatewayConfig> = { RATE_LIMIT_REQUESTS: 10, AUTH_FAILURE_LIMIT: 4, RATE_LIMIT_WINDOW_SECONDS: 3600, RATE_LIMIT_PEER_TTL_MS: TTL };
let stack: Stack;
let a: RunningGateway;
let b: RunningGateway;

beforeAll(async () => {
  // The stack's own gateway keeps the test defaults (another group: it shares nothing with a, b).
  stack = await startStack();
  a = await stack.extraGateway(LIMITS);
  b = await stack.extraGateway(LIMITS);
  await eventually(async () => a.rateLimitReplicas() === 2 && b.rateLimitReplicas() === 2, 'both replicas to count two');
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

const from = (ip: string) => ({ 'x-forwarded-for': ip });
const TYPENAME = '{ __typename }';

/** Sends `n` requests, the i-th to gateways[i % length]; returns the statuses. */
async function spread(gateways: RunningGateway[], n: number, send: (gw: RunningGateway) => Promise<number>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push(await send(gateways[i % gateways.length]!));
  return statuses;
}

const allowed = (statuses: number[]) => statuses.filter((s) => s !== 429).length;

describe('rate limits shared by two gateway replicas', () => {
  it('counts the replicas of one limit setting only', () => {
    expect([a.rateLimitReplicas(), b.rateLimitReplicas()]).toEqual([2, 2]);
    expect(stack.gateway.rateLimitReplicas()).toBe(1);
  });

  it('limits a caller alternating between them at the configured rate, not twice it', async () => {
    const m = await stack.newMerchant('Shared limits shop');
    const keyed = await spread([a, b], 30, async (gw) => (await gql(gw.url, '{ me { id } }', {}, m.secret)).status);
    expect(allowed(keyed)).toBe(10);
    expect(keyed.slice(0, 10)).toEqual(Array(10).fill(200));
    // Refused on both, with the code and header of any rate limit.
    const refusedA = await gql(a.url, '{ me { id } }', {}, m.secret);
    const refusedB = await gql(b.url, '{ me { id } }', {}, m.secret);
    expect([refusedA.errors?.[0]?.extensions?.code, refusedB.errors?.[0]?.extensions?.code]).toEqual(['RATE_LIMITED', 'RATE_LIMITED']);

    // Anonymous callers are limited per client IP the same way.
    const anon = await spread([a, b], 30, async (gw) => (await gql(gw.url, TYPENAME, {}, undefined, from('203.0.113.10'))).status);
    expect(allowed(anon)).toBe(10);
  });

  it('shares the failed-authentication budget of a client IP too', async () => {
    const attacker = from('203.0.113.66');
    const statuses = await spread([a, b], 8, async (gw) => (await gql(gw.url, TYPENAME, {}, 'made-up', attacker)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429, 429, 429]);
  });

  it('gives a caller stuck on one replica its share only (the price of no round trip per request)', async () => {
    const sticky = await spread([a], 30, async (gw) => (await gql(gw.url, TYPENAME, {}, undefined, from('203.0.113.20'))).status);
    expect(allowed(sticky)).toBe(5);
  });

  it('gives the whole budget again on the survivor once a dead replica is past the TTL; the cut-off one falls back to local limits', async () => {
    // b "crashes" as the others see it: its NATS connection is gone and it writes no goodbye.
    const t0 = Date.now();
    await b.bus.nc.close();
    // Within the TTL the survivor keeps counting b (a slow replica is not dropped at once).
    const early = await spread([a], 30, async (gw) => (await gql(gw.url, TYPENAME, {}, undefined, from('203.0.113.30'))).status);
    if (Date.now() - t0 < TTL / 2) expect(allowed(early)).toBe(5);

    await eventually(async () => a.rateLimitReplicas() === 1, 'the survivor to count b out', 10_000, 20);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(TTL / 2);
    const full = await spread([a], 30, async (gw) => (await gql(gw.url, TYPENAME, {}, undefined, from('203.0.113.31'))).status);
    expect(allowed(full)).toBe(10);

    // b cannot reach NATS KV: after a TTL it enforces the whole limits alone. Degraded, never
    // unlimited (the 11th request is refused) and never closed (a fresh caller is served).
    await eventually(async () => b.rateLimitReplicas() === 1, 'the cut-off replica to fall back', 10_000, 20);
    const local = await spread([b], 30, async (gw) => (await gql(gw.url, TYPENAME, {}, undefined, from('203.0.113.32'))).status);
    expect(allowed(local)).toBe(10);
  });

  it('a replica that stops cleanly hands its share back at the next heartbeat, well within the TTL', async () => {
    const c = await stack.extraGateway(LIMITS);
    await eventually(async () => a.rateLimitReplicas() === 2 && c.rateLimitReplicas() === 2, 'a and the new replica to count two');
    const t0 = Date.now();
    await c.stop();
    await eventually(async () => a.rateLimitReplicas() === 1, 'the stopped replica to be counted out', 10_000, 20);
    expect(Date.now() - t0).toBeLessThan(TTL);
  });
});
