import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gql } from '@cpg/devkit/testing';
import { freePort } from '@cpg/devkit/services';
import { type Stack, startStack } from './support/stack';

/**
 * The README's "First webhook" receiver, run exactly as a merchant would copy it: the code block
 * after the `webhook-receiver` marker saved as receiver.ts next to a lone copy of
 * shared/core/src/webhooks/verify.ts, in a directory outside the repository (so nothing else of ours
 * can be imported), run by node, and fed by the real merchant subgraph's dispatcher.
 */

Object.assign(process.env, { WEBHOOK_POLL_MS: '50' });

const ROOT = path.resolve(__dirname, '..');

export function readmeReceiver(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('<!-- webhook-receiver');
  if (at < 0) throw new Error('README.md has no webhook-receiver marker');
  const block = /```ts\n([\s\S]*?)\n```/.exec(readme.slice(at));
  if (!block) throw new Error('no ts code block after the webhook-receiver marker');
  return `${block[1]}\n`;
}

let stack: Stack;
let dir: string;
let receiver: ChildProcess | undefined;
let output = '';
let port = 0;

beforeAll(async () => {
  stack = await startStack();
  dir = mkdtempSync(path.join(os.tmpdir(), 'cpg-receiver-'));
  copyFileSync(path.join(ROOT, 'shared/core/src/webhooks/verify.ts'), path.join(dir, 'verify.ts'));
  writeFileSync(path.join(dir, 'receiver.ts'), readmeReceiver());
});
afterAll(async () => {
  receiver?.kill('SIGTERM');
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Retries `fn` until its assertions hold (or the time is up, then its last failure is thrown). */
async function until<T>(fn: () => Promise<T>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

describe('the README webhook receiver', () => {
  it('is self-contained: verify.ts imports only node:crypto', () => {
    const source = readFileSync(path.join(dir, 'verify.ts'), 'utf8');
    expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['node:crypto']);
    expect(readmeReceiver()).toContain("from './verify'");
  });

  it("accepts the real dispatcher's signed deliveries and refuses a tampered or foreign one", async () => {
    const m = await stack.newMerchant();
    // The secret exists only once the endpoint does, and the endpoint's URL needs the port first.
    port = await freePort();
    const made = await gql(
      stack.url,
      'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } signingSecret } }',
      { input: { url: `http://127.0.0.1:${port}/hooks` } },
      m.secret,
    );
    expect(made.errors).toBeUndefined();
    const { endpoint, signingSecret } = made.data.createWebhookEndpoint;
    await startReceiverOn(port, signingSecret);

    const pay = await gql(
      stack.url,
      'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { id } }',
      { input: { coinId: 'dev-evm:ETH', amount: '0.5', orderId: 'hook-1' } },
      m.secret,
    );
    expect(pay.errors).toBeUndefined();

    // Delivered: the receiver answered 204 (verified) and logged the event once.
    const deliveries = await until(async () => {
      const res = await gql(
        stack.url,
        '{ me { webhookEndpoints { id deliveries(first: 10) { nodes { id event eventId status lastStatusCode attempts } } } } }',
        {},
        m.secret,
      );
      const nodes = res.data.me.webhookEndpoints.find((e: { id: string }) => e.id === endpoint.id).deliveries.nodes;
      expect(nodes).toEqual([expect.objectContaining({ event: 'payment.created', status: 'DELIVERED', lastStatusCode: 204, attempts: 1 })]);
      return nodes as { id: string; eventId: string }[];
    });
    expect(output).toContain(`webhook payment.created ${deliveries[0]!.eventId} PENDING`);

    // A redelivery is signed anew and verified again; the receiver logs the event id once.
    const again = await gql(stack.url, 'mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }', { id: deliveries[0]!.id }, m.secret);
    expect(again.errors).toBeUndefined();
    await until(async () => {
      const res = await gql(stack.url, '{ me { webhookEndpoints { deliveries(first: 10) { nodes { status lastStatusCode } } } } }', {}, m.secret);
      const nodes = res.data.me.webhookEndpoints[0].deliveries.nodes;
      expect(nodes.length).toBe(2);
      expect(nodes.every((n: { status: string; lastStatusCode: number }) => n.status === 'DELIVERED' && n.lastStatusCode === 204)).toBe(true);
    });
    expect(output.split(deliveries[0]!.eventId).length - 1).toBe(1);

    // Tampered body, or signed with another secret: 400 with the reason.
    const ts = String(Math.floor(Date.now() / 1000));
    const body = JSON.stringify({ id: 'evt-x', type: 'payment.paid', data: { status: 'PAID' } });
    const sign = (secret: string, raw: string) => `v1=${createHmac('sha256', secret).update(`${ts}.`).update(raw).digest('hex')}`;
    const post = (raw: string, signature: string) =>
      fetch(`http://127.0.0.1:${port}/hooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-id': 'evt-x', 'x-webhook-timestamp': ts, 'x-webhook-signature': signature },
        body: raw,
      });
    const tampered = await post(body.replace('PAID', 'PAID '), sign(signingSecret, body));
    expect([tampered.status, await tampered.text()]).toEqual([400, 'signature mismatch']);
    const foreign = await post(body, sign('whsec_not_this_endpoint', body));
    expect([foreign.status, await foreign.text()]).toEqual([400, 'signature mismatch']);
    const good = await post(body, sign(signingSecret, body));
    expect(good.status).toBe(204);
  });
});

async function startReceiverOn(p: number, secret: string): Promise<void> {
  port = p;
  receiver = spawn(process.execPath, ['--import', require.resolve('tsx'), path.join(dir, 'receiver.ts')], {
    cwd: dir,
    env: { PATH: process.env.PATH, WEBHOOK_SECRET: secret, PORT: String(p) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  receiver.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  receiver.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  await until(async () => {
    const res = await fetch(`http://127.0.0.1:${p}/hooks`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(400);
    expect(await res.text()).toBe('missing webhook headers');
  });
}
