import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { eventually, gql } from '@cpg/devkit/testing';
import { CHECKOUT_FIELDS } from '@cpg/widget/src/api';
import { type Stack, startStack } from './support/stack';
import { connectWs, subscribeWs, waitUntil } from './support/ws';

/**
 * A checkout token reads one payment as the checkout page shows it (docs/limits.md, "Anonymous
 * readers"): the widget's own selection works, and every private field answers FORBIDDEN with a
 * null value, for an anonymous caller and for another merchant's key holding the token alike,
 * over HTTP and over the subscription. The payment's merchant still reads everything.
 */
jest.setTimeout(90_000);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

type Res = { data?: any; errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[] };
const CHECKOUT = (fields: string) => `query($t: String!) { checkout(token: $t) { ${fields} } }`;

let owner: Awaited<ReturnType<Stack['newMerchant']>>;
let token: string;
let paymentId: string;
let addressId: string;
const SENDER = `0x${randomBytes(20).toString('hex')}`;

beforeAll(async () => {
  owner = await stack.newMerchant('Anon Shop');
  const created = await gql(
    stack.url,
    'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id checkoutUrl address { id address } } }',
    { i: { coinId: 'dev-evm:ETH', amount: '0.5', orderId: 'order-secret-1', description: 'Two coffees', metadata: { customerEmail: 'a@example.com' } } },
    owner.secret,
  );
  const p = created.data!.createPayment;
  paymentId = p.id;
  addressId = p.address.id;
  token = p.checkoutUrl.split('/').pop()!;
  // The merchant's grey-list note on the sender: what a checkout reader must never learn.
  const grey = await gql(
    stack.url,
    'mutation($i: GreyListInput!) { addToGreyList(input: $i) { id } }',
    { i: { networkId: 'dev-evm', address: SENDER, action: 'REVIEW', reason: 'suspected mule account' } },
    owner.secret,
  );
  expect(grey.errors).toBeUndefined();
  const txHash = `0x${randomBytes(32).toString('hex')}`;
  const t = {
    network: 'dev-evm',
    txHash,
    index: 0,
    from: SENDER,
    to: p.address.address,
    coinId: 'dev-evm:ETH',
    amount: (5n * 10n ** 17n).toString(),
    blockHeight: 1,
    blockHash: `0x${'ab'.repeat(32)}`,
    confirmations: 1,
    addressId,
    merchantId: owner.id,
    internal: false,
  };
  await stack.bus.publish('chain.transfer.seen', t, { id: `${txHash}:seen`, key: `${txHash}-0` });
  await eventually(
    async () => {
      const r = await gql(stack.url, 'query($id: ID!) { payment(id: $id) { deposits { fromAddress risk { reasons } } } }', { id: paymentId }, owner.secret);
      return /mule/.test(r.data?.payment.deposits[0]?.risk?.reasons?.join(' ') ?? '');
    },
    "the deposit's screening",
    30_000,
  );
}, 90_000);

const PRIVATE: { fields: string; path: string[] }[] = [
  { fields: 'orderId', path: ['checkout', 'orderId'] },
  { fields: 'metadata', path: ['checkout', 'metadata'] },
  { fields: 'address { label }', path: ['checkout', 'address', 'label'] },
  { fields: 'address { type }', path: ['checkout', 'address', 'type'] },
  { fields: 'address { createdAt }', path: ['checkout', 'address', 'createdAt'] },
  { fields: 'merchant { createdAt }', path: ['checkout', 'merchant', 'createdAt'] },
  { fields: 'merchant { settings { addressMode } }', path: ['checkout', 'merchant', 'settings'] },
  { fields: 'merchant { balances { available } }', path: ['checkout', 'merchant', 'balances'] },
  { fields: 'deposits { fromAddress }', path: ['checkout', 'deposits', '0', 'fromAddress'] },
  { fields: 'deposits { txHash }', path: ['checkout', 'deposits', '0', 'txHash'] },
  // Refused twice over: the fields `risk` requires (txHash, index) are private in the payment
  // subgraph, and the compliance subgraph's own resolver refuses a caller that is not the merchant.
  { fields: 'deposits { risk { reasons } }', path: ['checkout', 'deposits', '0'] },
];

const flat = (r: Res) => JSON.stringify(r);
const readers = () => [{ who: 'anonymous' }, { who: "another merchant's key" }];

describe('the checkout projection', () => {
  let other: string;
  beforeAll(async () => {
    other = (await stack.newMerchant('Other Shop')).secret;
  });

  it("the widget's own selection reads the payment, with the merchant's display name, without errors", async () => {
    const r: Res = await gql(stack.url, CHECKOUT(CHECKOUT_FIELDS), { t: token });
    expect(r.errors).toBeUndefined();
    expect(r.data.checkout).toMatchObject({ id: paymentId, description: 'Two coffees', merchant: { name: 'Anon Shop' }, amount: '0.5' });
    expect(r.data.checkout.deposits).toHaveLength(1);
  });

  it.each(readers().map((r) => r.who))('%s: every private field is FORBIDDEN and null; no private value appears anywhere', async (who) => {
    const secret = who === 'anonymous' ? undefined : other;
    for (const { fields, path } of PRIVATE) {
      const r: Res = await gql(stack.url, CHECKOUT(`id ${fields}`), { t: token }, secret);
      const err = r.errors?.find((e) => e.extensions?.code === 'FORBIDDEN');
      expect({ fields, code: err?.extensions?.code }).toEqual({ fields, code: 'FORBIDDEN' });
      expect({ fields, path: err?.path?.map(String).slice(0, path.length) }).toEqual({ fields, path });
      const text = flat(r);
      for (const secretValue of ['order-secret-1', 'a@example.com', 'mule', SENDER.toLowerCase(), owner.id, addressId])
        expect(text.toLowerCase()).not.toContain(secretValue.toLowerCase());
    }
  });

  it.each(readers().map((r) => r.who))("%s: merchant { id } and address { id } are opaque keys, never the merchant's or the address's id", async (who) => {
    const secret = who === 'anonymous' ? undefined : other;
    const r: Res = await gql(stack.url, CHECKOUT('merchant { id name } address { id address }'), { t: token }, secret);
    expect(r.errors).toBeUndefined();
    expect(r.data.checkout.merchant.name).toBe('Anon Shop');
    expect(r.data.checkout.merchant.id).not.toBe(owner.id);
    expect(r.data.checkout.merchant.id).toMatch(/^pub_/);
    expect(r.data.checkout.address.id).not.toBe(addressId);
    // A sealed key opens nothing through the merchant-facing API.
    const again = await gql(stack.url, 'query($id: ID!) { payment(id: $id) { id } }', { id: r.data.checkout.merchant.id }, other);
    expect(again.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("the payment's merchant reads its private fields through the same token", async () => {
    const r: Res = await gql(
      stack.url,
      CHECKOUT('orderId metadata merchant { id } address { id label } deposits { fromAddress risk { reasons } }'),
      { t: token },
      owner.secret,
    );
    expect(r.errors).toBeUndefined();
    expect(r.data.checkout).toMatchObject({
      orderId: 'order-secret-1',
      metadata: { customerEmail: 'a@example.com' },
      merchant: { id: owner.id },
      address: { id: addressId },
    });
    expect(r.data.checkout.deposits[0].fromAddress.toLowerCase()).toBe(SENDER.toLowerCase());
    expect(r.data.checkout.deposits[0].risk.reasons.join(' ')).toMatch(/mule/);
  });

  it('the subscription by checkout token serves the same projection', async () => {
    const client = connectWs(stack.url);
    const sub = subscribeWs(
      client,
      'subscription($t: String) { paymentUpdated(checkoutToken: $t) { event payment { status orderId metadata merchant { id name } deposits { fromAddress risk { reasons } } } } }',
      { t: token },
    );
    await waitUntil(() => stack.gateway.liveSubscriptions() > 0, 'the NATS subscription');
    await stack.gateway.bus.nc.flush();
    await stack.bus.publish(
      'payment.updated',
      { paymentId, merchantId: owner.id, checkoutTokenHash: createHash('sha256').update(token).digest('hex'), event: 'deposit_seen', status: 'CONFIRMING' },
      { id: randomUUID(), key: paymentId },
    );
    await waitUntil(() => sub.results.length > 0, 'the event', 10_000);
    sub.stop();
    await client.dispose();
    const r = sub.results[0]!;
    const codes = new Set((r.errors ?? []).map((e) => e.extensions?.code));
    expect([...codes]).toEqual(['FORBIDDEN']);
    const text = flat(r as Res).toLowerCase();
    for (const secretValue of ['order-secret-1', 'a@example.com', 'mule', SENDER.toLowerCase(), owner.id])
      expect(text).not.toContain(secretValue.toLowerCase());
  });
});
