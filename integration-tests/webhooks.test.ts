import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually, gql } from '@cpg/devkit/testing';
import { verifyWebhook } from '@cpg/core/webhooks';
import { webhookDispatcherOf } from '@cpg/subgraph-merchant/src/server';
import { SecretBox, WebhookDispatcher, WebhookService, checkEndpointUrl, loadWebhookConfig } from '@cpg/subgraph-merchant/src/webhooks';
import { sendWebhook } from '@cpg/subgraph-merchant/src/webhooks/sender';
import { type Stack, startStack } from './support/stack';

// A short schedule (11 attempts over a few seconds) instead of the 3-day default; read by the
// merchant subgraph when the stack starts.
const TEST_ENV = {
  WEBHOOK_RETRY_SCHEDULE_MS: '150,150,200,200,250,250,300,300,400,400',
  WEBHOOK_RETRY_JITTER: '0.1',
  WEBHOOK_POLL_MS: '50',
  WEBHOOK_CONCURRENCY_PER_ENDPOINT: '2',
};
Object.assign(process.env, TEST_ENV);

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  answered: number;
}

/** The merchant's server: answers per path from a script (default 200), records every request. */
class Receiver {
  readonly received: Received[] = [];
  private readonly scripts = new Map<string, number[]>();
  private readonly defaults = new Map<string, number>();
  private readonly delays = new Map<string, number>();
  private readonly open = new Map<string, number>();
  /** Most requests of a path being answered at one time. */
  readonly peak = new Map<string, number>();
  server?: http.Server;
  port = 0;

  async listen(port = 0): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = req.url ?? '/';
        const status = this.scripts.get(path)?.shift() ?? this.defaults.get(path) ?? 200;
        this.received.push({ path, headers: req.headers, rawBody: Buffer.concat(chunks).toString('utf8'), answered: status });
        const now = (this.open.get(path) ?? 0) + 1;
        this.open.set(path, now);
        this.peak.set(path, Math.max(now, this.peak.get(path) ?? 0));
        setTimeout(
          () => {
            this.open.set(path, (this.open.get(path) ?? 1) - 1);
            res.statusCode = status;
            res.end(status >= 300 ? 'x'.repeat(3000) : 'ok');
          },
          this.delays.get(path) ?? 0,
        );
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server?.close(() => resolve());
      this.server?.closeAllConnections();
    });
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }
  script(path: string, statuses: number[]): void {
    this.scripts.set(path, [...statuses]);
  }
  delay(path: string, ms: number): void {
    this.delays.set(path, ms);
  }
  answer(path: string, status: number): void {
    this.defaults.set(path, status);
  }
  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }
}

let stack: Stack;
const receiver = new Receiver();
const extraDispatchers: WebhookDispatcher[] = [];

beforeAll(async () => {
  stack = await startStack();
  await receiver.listen();
});
afterAll(async () => {
  for (const d of extraDispatchers) await d.stop();
  await receiver.close();
  await stack?.stop();
});

type Merchant = Awaited<ReturnType<Stack['newMerchant']>>;

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

async function createEndpoint(m: Merchant, url: string, events?: string[]): Promise<{ id: string; secret: string }> {
  const res = await gql(
    stack.url,
    'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id url events enabled } signingSecret } }',
    { input: { url, ...(events ? { events } : {}) } },
    m.secret,
  );
  if (!res.data) throw new Error(`createWebhookEndpoint failed: ${JSON.stringify(res.errors)}`);
  return { id: res.data.createWebhookEndpoint.endpoint.id, secret: res.data.createWebhookEndpoint.signingSecret };
}

async function createPayment(m: Merchant, orderId: string): Promise<string> {
  return (await createPaymentFull(m, orderId)).id;
}

async function createPaymentFull(m: Merchant, orderId: string): Promise<{ id: string; address: { id: string; address: string } }> {
  const res = await gql(
    stack.url,
    'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { id address { id address } } }',
    { input: { coinId: 'dev-evm:ETH', amount: '0.5', orderId, metadata: { cart: [1, 2], note: 'webhook test' } } },
    m.secret,
  );
  if (!res.data) throw new Error(`createPayment failed: ${JSON.stringify(res.errors)}`);
  return res.data.createPayment;
}

interface DeliveryOut {
  id: string;
  event: string;
  eventId: string;
  status: string;
  attempts: number;
  lastStatusCode: number | null;
  payload: { id: string; type: string; data: { id: string; orderId: string } };
  attemptLog: { attempt: number; statusCode: number | null; latencyMs: number; responseExcerpt: string | null; error: string | null }[];
}

async function deliveries(m: Merchant, endpointId: string): Promise<DeliveryOut[]> {
  const res = await gql(
    stack.url,
    `{ me { webhookEndpoints { id deliveries(first: 50) { nodes { id event eventId status attempts lastStatusCode payload
        attemptLog { attempt statusCode latencyMs responseExcerpt error } } pageInfo { hasNextPage endCursor } } } } }`,
    {},
    m.secret,
  );
  if (!res.data) throw new Error(`deliveries failed: ${JSON.stringify(res.errors)}`);
  const ep = (res.data.me.webhookEndpoints as { id: string; deliveries: { nodes: DeliveryOut[] } }[]).find((e) => e.id === endpointId);
  return ep?.deliveries.nodes ?? [];
}

async function deliveryOf(m: Merchant, endpointId: string, orderId: string, what: string, ok: (d: DeliveryOut) => boolean): Promise<DeliveryOut> {
  return eventually(async () => (await deliveries(m, endpointId)).find((d) => d.payload.data.orderId === orderId && ok(d)), what, 15_000);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The tracker's report of 0.5 ETH paid to the payment's address, as the chain would bring it. */
async function payOnChain(
  type: 'chain.transfer.seen' | 'chain.transfer.confirmed',
  m: Merchant,
  p: { address: { id: string; address: string } },
  from: string | null,
): Promise<void> {
  const transfer = {
    network: 'dev-evm',
    txHash: `0x${randomBytes(32).toString('hex')}`,
    index: 0,
    from,
    to: p.address.address,
    coinId: 'dev-evm:ETH',
    amount: (5n * 10n ** 17n).toString(),
    blockHeight: 100,
    blockHash: `0x${randomBytes(32).toString('hex')}`,
    confirmations: 1,
    addressId: p.address.id,
    merchantId: m.id,
    internal: false,
  };
  await stack.bus.publish(type, transfer, { id: randomUUID(), key: p.address.id });
}

describe('webhooks', () => {
  let m: Merchant;
  let ep: { id: string; secret: string };
  let firstDelivery: DeliveryOut;

  it('signs a payment.created webhook that the helper verifies; a tampered body or old timestamp is refused', async () => {
    m = await stack.newMerchant('Hooks');
    ep = await createEndpoint(m, receiver.url('/ok'));
    expect(ep.secret).toMatch(/^whsec_/);
    const paymentId = await createPayment(m, 'order-1');
    const [req] = await eventually(async () => (receiver.at('/ok').length ? receiver.at('/ok') : undefined), 'the webhook', 15_000);
    const payload = JSON.parse(req!.rawBody);
    expect(payload).toMatchObject({
      type: 'payment.created',
      apiVersion: expect.any(String),
      createdAt: expect.any(String),
      data: { id: paymentId, orderId: 'order-1', metadata: { cart: [1, 2], note: 'webhook test' }, status: 'PENDING', amount: '0.5' },
    });
    expect(req!.headers['x-webhook-id']).toBe(payload.id);
    expect(req!.headers['x-webhook-signature']).toMatch(/^v1=[0-9a-f]{64}$/);

    const ok = verifyWebhook({ secret: ep.secret, headers: req!.headers, rawBody: req!.rawBody });
    expect(ok).toMatchObject({ ok: true, id: payload.id });
    expect(verifyWebhook({ secret: ep.secret, headers: req!.headers, rawBody: req!.rawBody.replace('order-1', 'order-2') })).toMatchObject({ ok: false });
    expect(verifyWebhook({ secret: 'whsec_wrong', headers: req!.headers, rawBody: req!.rawBody })).toMatchObject({ ok: false });
    const ts = Number(req!.headers['x-webhook-timestamp']);
    expect(verifyWebhook({ secret: ep.secret, headers: req!.headers, rawBody: req!.rawBody, now: ts + 301 })).toEqual({
      ok: false,
      reason: 'timestamp outside the tolerance',
    });

    firstDelivery = await deliveryOf(m, ep.id, 'order-1', 'delivered', (d) => d.status === 'DELIVERED');
    expect(firstDelivery).toMatchObject({ event: 'payment.created', eventId: payload.id, attempts: 1, lastStatusCode: 200 });
    expect(firstDelivery.attemptLog).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200, responseExcerpt: 'ok', error: null })]);
  });

  it('retries a receiver that answers 500 twice: three attempts logged, delivered once', async () => {
    const mm = await stack.newMerchant('Flaky');
    const e = await createEndpoint(mm, receiver.url('/flaky'));
    receiver.script('/flaky', [500, 500, 200]);
    await createPayment(mm, 'order-flaky');
    const d = await deliveryOf(mm, e.id, 'order-flaky', 'delivered after retries', (x) => x.status === 'DELIVERED');
    expect(d.attempts).toBe(3);
    expect(d.attemptLog.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    // The first 1 KB of the 3000-byte error body is kept.
    expect(d.attemptLog[0]!.responseExcerpt).toHaveLength(1024);
    await sleep(600);
    const got = receiver.at('/flaky');
    expect(got.map((r) => r.answered)).toEqual([500, 500, 200]);
    expect(new Set(got.map((r) => JSON.parse(r.rawBody).id)).size).toBe(1);
  });

  it('keeps trying a receiver that is down and delivers once it is back, with the same event id', async () => {
    const mm = await stack.newMerchant('Down');
    const later = new Receiver();
    await later.listen();
    const port = later.port;
    await later.close();
    const e = await createEndpoint(mm, `http://127.0.0.1:${port}/back`);
    await createPayment(mm, 'order-down');
    const failing = await deliveryOf(mm, e.id, 'order-down', 'two failed attempts', (x) => x.attempts >= 2);
    expect(failing.status).toBe('RETRYING');
    expect(failing.attemptLog[0]).toMatchObject({ statusCode: null, error: expect.stringMatching(/ECONNREFUSED/) });
    later.answer('/back', 200);
    await later.listen(port);
    try {
      const d = await deliveryOf(mm, e.id, 'order-down', 'delivered', (x) => x.status === 'DELIVERED');
      expect(later.received).toHaveLength(1);
      expect(JSON.parse(later.received[0]!.rawBody).id).toBe(d.eventId);
      expect(later.received[0]!.headers['x-webhook-id']).toBe(failing.eventId);
    } finally {
      await later.close();
    }
  });

  it('redeliverWebhook sends the same event id again', async () => {
    const before = receiver.at('/ok').length;
    const res = await gql(stack.url, 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id eventId status } }', { id: firstDelivery.id }, m.secret);
    expect(res.errors).toBeUndefined();
    expect(res.data.redeliverWebhook).toMatchObject({ eventId: firstDelivery.eventId });
    expect(res.data.redeliverWebhook.id).not.toBe(firstDelivery.id);
    const again = await eventually(async () => receiver.at('/ok')[before], 'the redelivery', 15_000);
    expect(again.headers['x-webhook-id']).toBe(firstDelivery.eventId);
    expect(JSON.parse(again.rawBody).id).toBe(firstDelivery.eventId);
    expect(verifyWebhook({ secret: ep.secret, headers: again.headers, rawBody: again.rawBody }).ok).toBe(true);

    const other = await stack.newMerchant('Other');
    const denied = await gql(stack.url, 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }', { id: firstDelivery.id }, other.secret);
    expect(code(denied)).toBe('NOT_FOUND');
  });

  it('rotation: during the overlap both secrets verify; after it only the new one', async () => {
    const mm = await stack.newMerchant('Rotate');
    const e = await createEndpoint(mm, receiver.url('/rot'));
    const rot = await gql(
      stack.url,
      'mutation($id: ID!) { rotateWebhookSecret(id: $id, overlapSeconds: 4) { signingSecret previousSecretExpiresAt endpoint { id previousSecretExpiresAt } } }',
      { id: e.id },
      mm.secret,
    );
    expect(rot.errors).toBeUndefined();
    const newSecret: string = rot.data.rotateWebhookSecret.signingSecret;
    expect(newSecret).not.toBe(e.secret);
    const expiresAt = new Date(rot.data.rotateWebhookSecret.previousSecretExpiresAt).getTime();

    await createPayment(mm, 'order-rot-1');
    const during = await eventually(async () => receiver.at('/rot')[0], 'a webhook during the overlap', 15_000);
    expect(String(during.headers['x-webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyWebhook({ secret: e.secret, headers: during.headers, rawBody: during.rawBody }).ok).toBe(true);
    expect(verifyWebhook({ secret: newSecret, headers: during.headers, rawBody: during.rawBody }).ok).toBe(true);

    await sleep(Math.max(0, expiresAt - Date.now()) + 200);
    await createPayment(mm, 'order-rot-2');
    const after = await eventually(async () => receiver.at('/rot')[1], 'a webhook after the overlap', 15_000);
    expect(String(after.headers['x-webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyWebhook({ secret: e.secret, headers: after.headers, rawBody: after.rawBody }).ok).toBe(false);
    expect(verifyWebhook({ secret: newSecret, headers: after.headers, rawBody: after.rawBody }).ok).toBe(true);
    expect(verifyWebhook({ secrets: [e.secret, newSecret], headers: after.headers, rawBody: after.rawBody }).ok).toBe(true);
  });

  it('a paid payment sends payment.paid with the deposit, only to endpoints that asked for it', async () => {
    const mm = await stack.newMerchant('Paid');
    await createEndpoint(mm, receiver.url('/paid'), ['payment.paid']);
    const p = await createPaymentFull(mm, 'order-paid');
    await payOnChain('chain.transfer.confirmed', mm, p, null);
    const [got] = await eventually(async () => (receiver.at('/paid').length ? receiver.at('/paid') : undefined), 'payment.paid', 15_000);
    expect(JSON.parse(got!.rawBody)).toMatchObject({
      type: 'payment.paid',
      data: { id: p.id, orderId: 'order-paid', status: 'PAID', amountConfirmed: '0.5', deposits: [{ amount: '0.5', status: 'CONFIRMED' }] },
    });
    await sleep(500);
    // payment.created (and any deposit_seen / confirming) were not asked for.
    expect(receiver.at('/paid')).toHaveLength(1);
  });

  it('a withdrawal sends withdrawal.created with its snapshot, and a deposit from a sanctioned sender sends compliance.alert', async () => {
    const mm = await stack.newMerchant('Payouts');
    await createEndpoint(mm, receiver.url('/out'), ['withdrawal.*', 'compliance.alert']);
    const p = await createPaymentFull(mm, 'order-out');
    // Credited: the payment is paid in full by an ordinary sender.
    await payOnChain('chain.transfer.confirmed', mm, p, `0x${randomBytes(20).toString('hex')}`);
    const to = `0x${randomBytes(20).toString('hex')}`;
    const w = await eventually(async () => {
      const res = await gql(
        stack.url,
        'mutation($i: RequestWithdrawalInput!) { requestWithdrawal(input: $i) { id status } }',
        { i: { coinId: 'dev-evm:ETH', toAddress: to, amount: '0.1', idempotencyKey: 'hook-1' } },
        mm.secret,
      );
      return res.data?.requestWithdrawal as { id: string } | undefined;
    }, 'a withdrawal once the credit is available');
    const created = await eventually(
      async () => receiver.at('/out').find((r) => JSON.parse(r.rawBody).type === 'withdrawal.created'),
      'withdrawal.created',
      15_000,
    );
    expect(JSON.parse(created.rawBody).data).toMatchObject({ object: 'withdrawal', id: w.id, amount: '0.1', coinId: 'dev-evm:ETH', idempotencyKey: 'hook-1' });
    expect(JSON.parse(created.rawBody).data.toAddress.toLowerCase()).toBe(to);

    // A second deposit, from an address on the OFAC list: screened, alerted, sent.
    await payOnChain('chain.transfer.seen', mm, p, '0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf');
    const alert = await eventually(async () => receiver.at('/out').find((r) => JSON.parse(r.rawBody).type === 'compliance.alert'), 'compliance.alert', 15_000);
    expect(JSON.parse(alert.rawBody).data).toMatchObject({ object: 'compliance_alert', merchantId: mm.id, decision: 'BLOCK', event: 'raised' });
    expect(receiver.at('/out').every((r) => ['withdrawal.created', 'compliance.alert'].includes(JSON.parse(r.rawBody).type))).toBe(true);
  });

  it('keeps at most the configured number of deliveries in flight per endpoint', async () => {
    const mm = await stack.newMerchant('Slow');
    const e = await createEndpoint(mm, receiver.url('/slow'));
    receiver.delay('/slow', 300);
    await Promise.all([1, 2, 3, 4, 5].map((i) => createPayment(mm, `order-slow-${i}`)));
    await eventually(
      async () => {
        const ds = await deliveries(mm, e.id);
        return ds.length === 5 && ds.every((d) => d.status === 'DELIVERED');
      },
      'five deliveries',
      15_000,
    );
    expect(receiver.peak.get('/slow')).toBeLessThanOrEqual(2);
    expect(receiver.at('/slow')).toHaveLength(5);
  });

  it('production mode refuses endpoints on 127.0.0.1 and 10.0.0.1 before sending anything', async () => {
    const config = loadWebhookConfig({}, 'production');
    const merchant = stack.subgraphs.merchant;
    const mm = await stack.newMerchant('Prod');
    const caller = { kind: 'merchant' as const, merchantId: mm.id, keyId: mm.keyId, scopes: ['SETTINGS_WRITE' as const] };
    // A resolver that fails the test if asked: literal IPs must be judged without DNS.
    const resolve = async () => {
      throw new Error('no DNS lookups in this test');
    };
    const service = new WebhookService(merchant.orm.em.fork(), {
      config,
      box: new SecretBox(stack.env.gatewaySecret),
      onDeliveriesCreated: () => undefined,
      resolve,
    });
    for (const url of [receiver.url('/prod'), 'http://10.0.0.1/hook', 'http://[::1]:9/x', 'http://169.254.169.254/latest']) {
      await expect(service.create(caller, { url })).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    }
    // A name is judged by every address it resolves to.
    const mixed = async () => [
      { address: '93.184.216.34', family: 4 },
      { address: '10.0.0.1', family: 4 },
    ];
    await expect(checkEndpointUrl('https://hooks.example.test/x', { production: true, resolve: mixed })).rejects.toThrow(/10\.0\.0\.1/);
    // At send time too: an endpoint stored before (or a DNS change since) is refused without a request.
    for (const url of [receiver.url('/prod'), 'http://10.0.0.1/hook']) {
      const r = await sendWebhook({ url, headers: {}, body: '{}', timeoutMs: 1000, production: true, resolve });
      expect(r).toMatchObject({ ok: false, statusCode: null, error: expect.stringMatching(/refused/) });
    }
    expect(receiver.at('/prod')).toHaveLength(0);
    // Outside production, loopback is fine (every other test here relies on it), private is not.
    const dev = new WebhookService(merchant.orm.em.fork(), {
      config: loadWebhookConfig({}, 'test'),
      box: new SecretBox(stack.env.gatewaySecret),
      onDeliveriesCreated: () => undefined,
      resolve,
    });
    await expect(dev.create(caller, { url: 'http://10.0.0.1/hook' })).rejects.toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
    const bad = await gql(
      stack.url,
      'mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/", events: ["payment.nope"] }) { signingSecret } }',
      {},
      mm.secret,
    );
    expect(code(bad)).toBe('BAD_USER_INPUT');
  });

  it('gives up after the schedule: dead, visible, redeliverable; deliveries page by cursor; a deleted endpoint gets nothing', async () => {
    const mm = await stack.newMerchant('Dead');
    const e = await createEndpoint(mm, receiver.url('/dead'), ['payment.created']);
    receiver.answer('/dead', 500);
    await createPayment(mm, 'order-dead');
    const dead = await deliveryOf(mm, e.id, 'order-dead', 'a dead delivery', (x) => x.status === 'DEAD');
    expect(dead.attempts).toBe(TEST_ENV.WEBHOOK_RETRY_SCHEDULE_MS.split(',').length + 1);
    expect(dead.attemptLog).toHaveLength(dead.attempts);

    receiver.answer('/dead', 200);
    const res = await gql(stack.url, 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }', { id: dead.id }, mm.secret);
    expect(res.errors).toBeUndefined();
    await eventually(
      async () => (await deliveries(mm, e.id)).find((x) => x.id === res.data.redeliverWebhook.id && x.status === 'DELIVERED'),
      'redelivered',
      15_000,
    );

    const page = async (after?: string) =>
      (
        await gql(
          stack.url,
          'query($after: String) { me { webhookEndpoints { id deliveries(first: 1, after: $after) { nodes { id } pageInfo { hasNextPage endCursor } } } } }',
          { after },
          mm.secret,
        )
      ).data.me.webhookEndpoints[0].deliveries;
    const p1 = await page();
    expect(p1).toMatchObject({ nodes: [{ id: res.data.redeliverWebhook.id }], pageInfo: { hasNextPage: true } });
    const p2 = await page(p1.pageInfo.endCursor);
    expect(p2).toMatchObject({ nodes: [{ id: dead.id }], pageInfo: { hasNextPage: false } });

    const del = await gql(stack.url, 'mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }', { id: e.id }, mm.secret);
    expect(del.data).toEqual({ deleteWebhookEndpoint: true });
    const listed = await gql(stack.url, '{ me { webhookEndpoints { id } } }', {}, mm.secret);
    expect(listed.data.me.webhookEndpoints).toEqual([]);
    const before = receiver.at('/dead').length;
    await createPayment(mm, 'order-after-delete');
    await sleep(700);
    expect(receiver.at('/dead')).toHaveLength(before);
  });

  it('disables an endpoint that has been failing for days, with a note', async () => {
    const mm = await stack.newMerchant('Failing');
    const e = await createEndpoint(mm, receiver.url('/failing'));
    receiver.answer('/failing', 500);
    // Days of failures, compressed: the endpoint's failing streak is backdated.
    await stack.subgraphs.merchant.orm.em
      .fork()
      .execute(`update "merchant".webhook_endpoints set failing_since = now() - interval '6 days' where id = ?`, [e.id]);
    await createPayment(mm, 'order-failing');
    const ep = await eventually(
      async () => {
        const res = await gql(stack.url, '{ me { webhookEndpoints { id enabled disabledReason } } }', {}, mm.secret);
        const row = res.data.me.webhookEndpoints[0];
        return row && !row.enabled ? row : undefined;
      },
      'the endpoint disabled',
      15_000,
    );
    expect(ep.disabledReason).toMatch(/disabled automatically: every delivery failed since/);
    const sent = receiver.at('/failing').length;
    await sleep(600);
    expect(receiver.at('/failing')).toHaveLength(sent);
  });

  it('a dispatcher restart in the middle of retries loses no delivery and sends none twice after success', async () => {
    const merchant = stack.subgraphs.merchant;
    const mm = await stack.newMerchant('Restart');
    const e = await createEndpoint(mm, receiver.url('/restart'));
    receiver.answer('/restart', 503);
    await createPayment(mm, 'order-restart');
    await deliveryOf(mm, e.id, 'order-restart', 'failing attempts', (x) => x.attempts >= 2 && x.status === 'RETRYING');
    await webhookDispatcherOf(merchant)!.stop();
    const whileDown = receiver.at('/restart').length;
    receiver.answer('/restart', 200);
    await sleep(700);
    expect(receiver.at('/restart')).toHaveLength(whileDown);

    const start = () => {
      const d = new WebhookDispatcher({
        orm: merchant.orm,
        log: stack.env.log,
        config: loadWebhookConfig(TEST_ENV, 'test'),
        box: new SecretBox(stack.env.gatewaySecret),
      });
      extraDispatchers.push(d);
      d.start();
      return d;
    };
    const second = start();
    const d = await deliveryOf(mm, e.id, 'order-restart', 'delivered after the restart', (x) => x.status === 'DELIVERED');
    await second.stop();
    start();
    await sleep(800);
    const got = receiver.at('/restart');
    expect(got.filter((r) => r.answered === 200)).toHaveLength(1);
    expect(got).toHaveLength(d.attempts);
    expect(new Set(got.map((r) => r.headers['x-webhook-id']))).toEqual(new Set([d.eventId]));
    expect((await deliveries(mm, e.id)).filter((x) => x.status === 'DELIVERED')).toHaveLength(1);
  });

  it('a dispatcher that dies holding a claim: the row is sent once its lease lapses, exactly once', async () => {
    const merchant = stack.subgraphs.merchant;
    for (const d of extraDispatchers) await d.stop();
    const mm = await stack.newMerchant('Crash');
    const e = await createEndpoint(mm, receiver.url('/crash'));
    await createPayment(mm, 'order-crash');
    const pending = await deliveryOf(mm, e.id, 'order-crash', 'a queued delivery', (x) => x.status === 'PENDING');
    // What a dispatcher that claimed the row and then died leaves behind.
    await merchant.orm.em
      .fork()
      .execute(`update "merchant".webhook_deliveries set lease_until = now() + interval '1 second', lease_token = ? where id = ?`, [randomUUID(), pending.id]);
    const d = new WebhookDispatcher({
      orm: merchant.orm,
      log: stack.env.log,
      config: loadWebhookConfig(TEST_ENV, 'test'),
      box: new SecretBox(stack.env.gatewaySecret),
    });
    extraDispatchers.push(d);
    d.start();
    await sleep(400);
    expect(receiver.at('/crash')).toHaveLength(0);
    await deliveryOf(mm, e.id, 'order-crash', 'delivered after the lease lapsed', (x) => x.status === 'DELIVERED');
    await sleep(500);
    expect(receiver.at('/crash')).toHaveLength(1);
  });
});
