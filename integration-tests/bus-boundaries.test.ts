import { randomBytes, randomUUID } from 'node:crypto';
import { Bus, type EventData } from '@cpg/core/bus';
import type { BusUser } from '@cpg/core/bus';
import { eventually, gql, testNatsCredentials } from '@cpg/devkit/testing';
import { counterSnapshot } from '@cpg/core/http';
import { type Stack, startStack } from './support/stack';

/**
 * Issue 14's proof on the whole stack: each service runs as its own NATS user, so a process that is
 * taken over cannot forge what it does not own. A forged chain event from the payment subgraph's
 * user and a forged payout batch from the collector's user are refused by the server and change
 * nothing; the same chain event from the tracker's user is credited (the control: the forgery
 * failed for its sender, not for its content).
 */
let stack: Stack;
const buses: Bus[] = [];

async function busAs(user: BusUser): Promise<Bus> {
  const bus = await Bus.connect({
    url: stack.env.natsServerUrl,
    namespace: stack.env.namespace,
    name: `as-${user}`,
    log: stack.env.log,
    ...stack.env.busAuth(user),
  });
  buses.push(bus);
  return bus;
}

beforeAll(async () => {
  // Without the tests' authenticated nats-server (jest run by hand on an open NATS) nothing here
  // would be refused: fail loudly instead of passing for the wrong reason.
  if (!testNatsCredentials()) throw new Error('run through `npm test`: it starts the nats-server with one user per service');
  stack = await startStack();
});
afterAll(async () => {
  for (const b of buses) await b.close().catch(() => undefined);
  await stack?.stop();
});

const PAYMENT = 'query($id: ID!) { payment(id: $id) { status amountConfirmed } }';
const BALANCES = '{ me { balances { coin { id } available pending } } }';

test('a chain event forged by the payment subgraph and a payout batch forged by the collector are refused and change nothing', async () => {
  const m = await stack.newMerchant('Bus boundaries');
  const created = await gql(stack.url, 'mutation { createPayment(input: { coinId: "dev-evm:ETH", amount: "1" }) { id address { id address } } }', {}, m.secret);
  const p = created.data!.createPayment as { id: string; address: { id: string; address: string } };
  const transfer: EventData<'chain.transfer.seen'> = {
    network: 'dev-evm',
    txHash: `0x${randomBytes(32).toString('hex')}`,
    index: 0,
    from: null,
    to: p.address.address,
    coinId: 'dev-evm:ETH',
    amount: (10n ** 18n).toString(),
    blockHeight: 10,
    blockHash: `0x${randomBytes(32).toString('hex')}`,
    confirmations: 5,
    addressId: p.address.id,
    merchantId: m.id,
    internal: false,
  };

  const payment = await busAs('payment');
  for (const kind of ['seen', 'confirmed'] as const) {
    await expect(payment.publish(`chain.transfer.${kind}`, transfer, { id: randomUUID(), key: p.address.id })).rejects.toThrow(/Permissions Violation/);
  }
  const collector = await busAs('collector');
  await expect(
    collector.publish(
      'withdrawal.batch.ready',
      {
        batchId: randomUUID(),
        merchantId: m.id,
        network: 'dev-evm',
        coinId: 'dev-evm:ETH',
        items: [{ withdrawalId: randomUUID(), toAddress: '0x000000000000000000000000000000000000dEaD', amount: '1' }],
      },
      { id: randomUUID(), key: randomUUID() },
    ),
  ).rejects.toThrow(/Permissions Violation/);
  // The gateway, the most exposed process, cannot ask the signer anything.
  const gateway = await busAs('gateway');
  await expect(gateway.request('signer.account_xpub', { merchantId: m.id, networkId: 'dev-evm' }, 1000)).rejects.toThrow(/Permissions Violation/);

  // Time for anything that got through to be applied: nothing did.
  await new Promise((r) => setTimeout(r, 1500));
  const after = await gql(stack.url, PAYMENT, { id: p.id }, m.secret);
  expect(after.data.payment).toEqual({ status: 'PENDING', amountConfirmed: '0' });
  const balances = await gql(stack.url, BALANCES, {}, m.secret);
  expect((balances.data.me.balances as { available: string; pending: string }[]).every((b) => b.available === '0' && b.pending === '0')).toBe(true);

  // The control: the tracker's user may say the same, and the payment is paid.
  const tracker = await busAs('tracker');
  await tracker.publish('chain.transfer.seen', transfer, { id: randomUUID(), key: p.address.id });
  await tracker.publish('chain.transfer.confirmed', transfer, { id: randomUUID(), key: p.address.id });
  await eventually(async () => (await gql(stack.url, PAYMENT, { id: p.id }, m.secret)).data.payment.status === 'PAID', 'payment PAID from the tracker', 15_000);
});

test("an asker cannot choose where the answering service's reply goes (no purge of the stream through the merchant's rights)", async () => {
  const admin = stack.bus;
  const stream = admin.streamName;
  // Something in the stream to lose.
  await busAs('tracker').then((t) =>
    t.publish(
      'chain.status',
      { network: 'dev-evm', available: true, scannedHeight: 1, tipHeight: 1, lagBlocks: 0, at: new Date().toISOString() },
      { id: randomUUID(), key: 'dev-evm' },
    ),
  );
  const before = await admin.jsm.streams.info(stream);
  expect(before.state.messages).toBeGreaterThan(0);
  const refusedBefore = counterSnapshot()['merchant.rpc.merchant.verify_api_key.refused'] ?? 0;

  // The gateway may ask merchant.verify_api_key; it names the stream's purge API as the reply subject.
  const gateway = await busAs('gateway');
  gateway.nc.publish(`${stack.env.namespace}.rpc.merchant.verify_api_key`, new TextEncoder().encode('{"junk":1}'), { reply: `$JS.API.STREAM.PURGE.${stream}` });
  // ...and a tracker-only event subject.
  gateway.nc.publish(`${stack.env.namespace}.rpc.merchant.verify_api_key`, new TextEncoder().encode('{"junk":1}'), {
    reply: `${stack.env.namespace}.evt.chain.dev-evm.transfer.confirmed.x`,
  });
  await gateway.nc.flush();
  await eventually(
    async () => (counterSnapshot()['merchant.rpc.merchant.verify_api_key.refused'] ?? 0) >= refusedBefore + 2,
    'both requests refused by the merchant',
    10_000,
  );

  const after = await admin.jsm.streams.info(stream);
  expect(after.state.first_seq).toBe(before.state.first_seq);
  expect(after.state.messages).toBeGreaterThanOrEqual(before.state.messages);
  const forged = await admin.jsm.streams
    .getMessage(stream, { last_by_subj: `${stack.env.namespace}.evt.chain.dev-evm.transfer.confirmed.x` })
    .catch(() => null);
  expect(forged).toBeNull();
  // Verification itself still works for the gateway's real requests.
  const m = await stack.newMerchant('Still authenticates');
  expect((await gql(stack.url, '{ me { id } }', {}, m.secret)).data?.me?.id).toBe(m.id);
});
