import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, parse } from 'graphql';
import { JSON_LIMITS, STRING_LIMITS, checkOperationInputs, inputCoordinates } from './limits';

const supergraph = buildSchema(readFileSync(path.join(__dirname, '../../../../gateway/supergraph.graphql'), 'utf8'));
const code = (fn: () => void): string | undefined => {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as { extensions?: { code?: string } }).extensions?.code ?? 'THROWN';
  }
};
const check = (query: string, variables?: Record<string, unknown>) => code(() => checkOperationInputs(supergraph, parse(query), variables));

describe('input limits', () => {
  it('every String/ID input of the supergraph has a limit chosen for it, not the fallback', () => {
    const fallback = inputCoordinates(supergraph).filter((c) => c.limit === 'STRING' || c.limit === 'ID');
    expect(fallback).toEqual([]);
  });

  it('every documented limit is in docs/limits.md', () => {
    const doc = readFileSync(path.join(__dirname, '../../../../docs/limits.md'), 'utf8');
    for (const [kind, limit] of Object.entries(STRING_LIMITS)) expect(doc).toContain(`| ${kind} | ${limit.max} |`);
  });

  it('refuses an over-long address in a variable and in a literal, before anything decodes it', () => {
    const q = 'query($a: String!) { screenAddress(networkId: "tron", address: $a) { id } }';
    expect(check(q, { a: 'T'.repeat(1_000_000) })).toBe('BAD_USER_INPUT');
    expect(check(`{ screenAddress(networkId: "tron", address: "${'T'.repeat(129)}") { id } }`)).toBe('BAD_USER_INPUT');
    expect(check(q, { a: 'T'.repeat(34) })).toBeUndefined();
  });

  it('checks fields of input objects, nested in variables', () => {
    const q = 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id } }';
    expect(check(q, { i: { coinId: 'dev-evm:ETH', orderId: 'x'.repeat(201) } })).toBe('BAD_USER_INPUT');
    expect(check(q, { i: { coinId: 'dev-evm:ETH', orderId: 'x'.repeat(200) } })).toBeUndefined();
    expect(check(q, { i: { coinId: 'dev-evm:ETH', description: 'a\u0000b' } })).toBe('BAD_USER_INPUT');
    expect(check(q, { i: { coinId: 'dev-evm:ETH', amount: '1'.repeat(101) } })).toBe('BAD_USER_INPUT');
  });

  it('bounds metadata by size and depth on the raw value', () => {
    const q = 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id } }';
    let deep: unknown = 1;
    for (let i = 0; i < JSON_LIMITS.maxDepth + 1; i++) deep = { a: deep };
    expect(check(q, { i: { coinId: 'c:C', metadata: deep } })).toBe('BAD_USER_INPUT');
    expect(check(q, { i: { coinId: 'c:C', metadata: { big: 'x'.repeat(JSON_LIMITS.maxBytes) } } })).toBe('BAD_USER_INPUT');
    expect(check(q, { i: { coinId: 'c:C', metadata: { 'k\u0000': 1 } } })).toBe('BAD_USER_INPUT');
    expect(check(q, { i: { coinId: 'c:C', metadata: { a: { b: { c: { d: 1 } } }, list: [1, 2, 3] } } })).toBeUndefined();
    expect(check(`mutation { createPayment(input: { coinId: "c:C", metadata: { a: { b: { c: { d: { e: { f: 1 } } } } } } }) { id } }`)).toBe('BAD_USER_INPUT');
  });

  it('ids of stored rows must be UUIDs; network and coin ids are slugs', () => {
    expect(check('{ payment(id: "1 or 1=1") { id } }')).toBe('BAD_USER_INPUT');
    expect(check('{ payment(id: "6f1c1a3e-1d3b-4c55-9a39-3a1b0d1e2f40") { id } }')).toBeUndefined();
    expect(check('{ network(id: "dev-evm") { id } }')).toBeUndefined();
    expect(check(`{ network(id: "${'n'.repeat(65)}") { id } }`)).toBe('BAD_USER_INPUT');
  });

  it('bounds lists', () => {
    const q = 'mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { signingSecret } }';
    expect(check(q, { i: { url: 'https://x.example', events: Array.from({ length: 51 }, () => 'payment.paid') } })).toBe('BAD_USER_INPUT');
    expect(check(q, { i: { url: 'https://x.example', events: ['payment.paid'] } })).toBeUndefined();
  });

  it('checks what the gateway selects below _entities with the client variables, only representations exempt', () => {
    // A subgraph's schema as the gateway reaches it: Merchant.ledger fetched as an entity.
    const subgraph = buildSchema(
      `${readFileSync(path.join(__dirname, '../../../../gateway/supergraph.graphql'), 'utf8')}\nscalar _Any\nunion _Entity = Merchant\nextend type Query { _entities(representations: [_Any!]!): [_Entity]! }`,
    );
    const q = 'query($r: [_Any!]!, $c: ID) { _entities(representations: $r) { ... on Merchant { ledger(coinId: $c) { nodes { id } } } } }';
    const representations = [{ __typename: 'Merchant', id: 'x'.repeat(5000) }];
    const inEntities = (variables: Record<string, unknown>) => code(() => checkOperationInputs(subgraph, parse(q), variables));
    expect(inEntities({ r: representations, c: 'c'.repeat(200_000) })).toBe('BAD_USER_INPUT');
    expect(inEntities({ r: representations, c: 'a\u0000b' })).toBe('BAD_USER_INPUT');
    expect(inEntities({ r: representations, c: 'dev-evm:USDT' })).toBeUndefined();
  });

  it('checks arguments inside fragments too', () => {
    expect(check(`query { ...F } fragment F on Query { validateAddress(networkId: "x", address: "${'a'.repeat(200)}") { valid } }`)).toBe('BAD_USER_INPUT');
  });
});
