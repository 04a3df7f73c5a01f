import { randomUUID } from 'node:crypto';
import { gql } from '@cpg/devkit/testing';
import { type Stack, startStack } from './support/stack';

// Errors a newcomer met on the first day (issue 16): each must name the mistake, with the right code.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

type Res = { data?: any; errors?: { message: string; extensions?: Record<string, any> }[] };
const code = (res: Res) => res.errors?.[0]?.extensions?.code;

describe('createPayment priced in fiat', () => {
  const CREATE = 'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { id amount priceAmount priceCurrency rate } }';

  it('a currency this gateway does not price in is BAD_USER_INPUT listing the configured ones, not UNAVAILABLE', async () => {
    const m = await stack.newMerchant();
    const res: Res = await gql(stack.url, CREATE, { input: { coinId: 'dev-ltc:LTC', priceAmount: '20', priceCurrency: 'EUR' } }, m.secret);
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toBe('priceCurrency EUR is not configured on this gateway; use one of: USD');
    expect(res.errors![0]!.extensions).toMatchObject({ field: 'priceCurrency', currencies: ['USD'] });
    const list = await gql(stack.url, '{ payments(first: 5) { nodes { id } } }', {}, m.secret);
    expect(list.data.payments.nodes).toEqual([]);
  });

  it('accepts the code in lower case and stores it upper case', async () => {
    const m = await stack.newMerchant();
    const res: Res = await gql(stack.url, CREATE, { input: { coinId: 'dev-ltc:LTC', priceAmount: '20', priceCurrency: 'usd' } }, m.secret);
    expect(res.errors).toBeUndefined();
    expect(res.data.createPayment).toMatchObject({ amount: '0.25', priceAmount: '20', priceCurrency: 'USD', rate: '80' });
  });
});

describe('revokeApiKey', () => {
  const REVOKE = 'mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }';

  it("an unknown key id is NOT_FOUND, whatever its shape (a key's prefix too), and so is another merchant's key", async () => {
    const m = await stack.newMerchant();
    const other = await stack.newMerchant();
    const { data } = await gql(stack.url, '{ me { apiKeys { prefix } } }', {}, other.secret);
    const prefix: string = data.me.apiKeys[0].prefix;
    for (const id of [randomUUID(), other.keyId, prefix, 'no-such-key']) {
      const res: Res = await gql(stack.url, REVOKE, { id }, m.secret);
      expect([id, code(res)]).toEqual([id, 'NOT_FOUND']);
    }
    // Nothing was revoked: the other merchant's key still works.
    const me = await gql(stack.url, '{ me { id } }', {}, other.secret);
    expect(me.data.me.id).toBe(other.id);
    // Still bounded: an id longer than any key's is refused before the resolver.
    expect(code(await gql(stack.url, REVOKE, { id: 'k'.repeat(129) }, m.secret))).toBe('BAD_USER_INPUT');
  });
});
