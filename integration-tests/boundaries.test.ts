import { signIdentity } from '@cpg/shared/graphql';
import { gql } from '@cpg/shared/testing';
import { type Stack, startStack } from './support/stack';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(async () => {
  await stack?.stop();
});

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

describe('subgraphs accept only requests signed by the gateway', () => {
  const query = 'mutation { createMerchant(input: { name: "sneaky" }) { merchant { id } } }';

  it('refuses a direct request without a signature', async () => {
    const res = await gql(stack.subgraphs.merchant.url, query);
    expect(res.status).toBe(401);
    expect(code(res)).toBe('UNAUTHENTICATED');
  });

  it('refuses a forged identity, a wrong secret and an expired signature', async () => {
    const wrongSecret = signIdentity({ kind: 'operator' }, 'not-the-gateway-secret-at-all');
    expect((await gql(stack.subgraphs.merchant.url, query, {}, undefined, wrongSecret)).status).toBe(401);

    const expired = signIdentity({ kind: 'operator' }, stack.env.gatewaySecret, Date.now() - 10 * 60_000);
    expect((await gql(stack.subgraphs.merchant.url, query, {}, undefined, expired)).status).toBe(401);

    const real = signIdentity({ kind: 'anonymous' }, stack.env.gatewaySecret);
    const tampered = { ...real, 'x-cpg-identity': Buffer.from(JSON.stringify({ kind: 'operator' })).toString('base64url') };
    expect((await gql(stack.subgraphs.merchant.url, query, {}, undefined, tampered)).status).toBe(401);

    // Nothing of the above reached the database.
    const count = await stack.subgraphs.merchant.orm.em
      .fork()
      .getConnection()
      .execute('select count(*)::int as n from merchant.merchants where name = ?', ['sneaky']);
    expect(count[0].n).toBe(0);
  });

  it('accepts the same request when correctly signed (so the refusals above mean something)', async () => {
    const headers = signIdentity({ kind: 'operator' }, stack.env.gatewaySecret);
    const res = await gql(stack.subgraphs.merchant.url, query, {}, undefined, headers);
    expect(res.errors).toBeUndefined();
    expect(res.data.createMerchant.merchant.id).toBeTruthy();
  });
});

describe('bad input gets a clear error with a stable code and writes nothing', () => {
  it.each([
    ['an exponent', '"1e5"'],
    ['a float literal', '1.5'],
    ['a sign', '"+1"'],
    ['a negative amount', '"-1"'],
    ['an empty string', '""'],
  ])('a malformed Amount (%s) is BAD_USER_INPUT', async (_, literal) => {
    const m = await stack.newMerchant();
    const res = await gql(
      stack.url,
      `mutation { requestWithdrawal(input: { coinId: "dev-evm:ETH", toAddress: "0x0", amount: ${literal}, idempotencyKey: "k" }) { id } }`,
      {},
      m.secret,
    );
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toMatch(/Amount/);
  });

  it('a malformed Amount in variables is BAD_USER_INPUT too', async () => {
    const m = await stack.newMerchant();
    const res = await gql(
      stack.url,
      'mutation($a: Amount!) { requestWithdrawal(input: { coinId: "c", toAddress: "t", amount: $a, idempotencyKey: "k" }) { id } }',
      { a: 0.1 },
      m.secret,
    );
    expect(code(res)).toBe('BAD_USER_INPUT');
  });

  it('an unknown enum value is BAD_USER_INPUT and creates no key', async () => {
    const m = await stack.newMerchant();
    const literal = await gql(stack.url, 'mutation { createApiKey(input: { label: "x", scopes: [ROOT] }) { secret } }', {}, m.secret);
    expect(code(literal)).toBe('BAD_USER_INPUT');
    const variable = await gql(
      stack.url,
      'mutation($s: [ApiScope!]!) { createApiKey(input: { label: "x", scopes: $s }) { secret } }',
      { s: ['ROOT'] },
      m.secret,
    );
    expect(code(variable)).toBe('BAD_USER_INPUT');
    const keys = await gql(stack.url, '{ me { apiKeys { id } } }', {}, m.secret);
    expect(keys.data.me.apiKeys).toHaveLength(1);
  });

  it('out-of-range settings are BAD_USER_INPUT and leave settings unchanged', async () => {
    const m = await stack.newMerchant();
    for (const input of ['{ batchMaxSize: 0 }', '{ underpaymentTolerance: "0.5" }', '{ paymentExpiryMinutes: 99999, batchMaxSize: 5 }']) {
      const res = await gql(stack.url, `mutation { updateMerchantSettings(input: ${input}) { id } }`, {}, m.secret);
      expect(code(res)).toBe('BAD_USER_INPUT');
    }
    const me = await gql(stack.url, '{ me { settings { batchMaxSize underpaymentTolerance paymentExpiryMinutes } } }', {}, m.secret);
    expect(me.data.me.settings).toEqual({ batchMaxSize: 50, underpaymentTolerance: '0', paymentExpiryMinutes: 60 });
  });

  it('an over-deep query is refused before it runs', async () => {
    const m = await stack.newMerchant();
    const deep =
      '{ me { balances { coin { network { nativeCoin { network { nativeCoin { network { nativeCoin { network { nativeCoin { id } } } } } } } } } } } }';
    const res = await gql(stack.url, deep, {}, m.secret);
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toContain('too deep');
  });

  it('an over-costly query is refused before it runs', async () => {
    const m = await stack.newMerchant();
    const res = await gql(stack.url, '{ payments(first: 1000) { nodes { deposits { id txHash } merchant { apiKeys { id } } } } }', {}, m.secret);
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toContain('too expensive');
  });

  it('a malformed id is BAD_USER_INPUT, not a database error', async () => {
    const m = await stack.newMerchant();
    const res = await gql(stack.url, 'mutation { revokeApiKey(id: "1; drop table") { id } }', {}, m.secret);
    expect(code(res)).toBe('BAD_USER_INPUT');
  });
});

describe('limits and health', () => {
  it('answers RATE_LIMITED (429) past the per-key limit, per key', async () => {
    const limited = await stack.extraGateway({ RATE_LIMIT_REQUESTS: 3, RATE_LIMIT_WINDOW_SECONDS: 60 });
    const a = await stack.newMerchant();
    const b = await stack.newMerchant();
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await gql(limited.url, '{ me { id } }', {}, a.secret)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await gql(limited.url, '{ me { id } }', {}, a.secret);
    expect(code(refused)).toBe('RATE_LIMITED');
    expect((await gql(limited.url, '{ me { id } }', {}, b.secret)).status).toBe(200);
  });

  it('serves /healthz and /readyz on the gateway and every subgraph', async () => {
    const ready = await fetch(new URL('/readyz', stack.url));
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      status: 'ready',
      checks: { nats: true, merchant: true, address: true, payment: true, withdrawal: true, compliance: true },
    });
    for (const s of Object.values(stack.subgraphs)) {
      expect((await fetch(new URL('/healthz', s.url))).status).toBe(200);
      expect((await fetch(new URL('/readyz', s.url))).status).toBe(200);
    }
  });

  it('exposes the whole contract through one endpoint', async () => {
    const res = await gql(stack.url, '{ __schema { queryType { fields { name } } } }', {}, stack.env.operatorToken);
    const names = res.data.__schema.queryType.fields.map((f: { name: string }) => f.name);
    expect(names).toEqual(expect.arrayContaining(['me', 'networks', 'payments', 'withdrawals', 'alerts', 'checkout']));
  });
});
