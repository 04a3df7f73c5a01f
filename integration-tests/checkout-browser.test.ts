// The checkout page in a real browser (Debian's chromium through playwright-core) against the real
// stack: the widget is served by its Vite dev server with /graphql proxied to this stack's gateway.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import jsQR from 'jsqr';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { PNG } from 'pngjs';
import type { EventData } from '@cpg/core/bus';
import { freePort } from '@cpg/devkit/services';
import { eventually, gql } from '@cpg/devkit/testing';
import { fraction } from '../widget/src/amount';
import type { FundPart } from '../widget/dev/server';
import { payment as fixture } from '../widget/test/fixtures';
import { type Stack, startStack } from './support/stack';

const SHOTS = path.resolve(__dirname, '../widget/test-results');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

interface Created {
  id: string;
  paymentUri: string;
  checkoutUrl: string;
  address: { id: string; address: string };
  coin: { id: string };
}

let stack: Stack;
let merchant: Awaited<ReturnType<Stack['newMerchant']>>;
let widget: { child: ChildProcess; url: string };
let fundServer: http.Server;
let context: BrowserContext;
let profileDir: string;
const byToken = new Map<string, Created>();
const foreignRequests: string[] = [];

/**
 * No tracker runs in startStack, so "Simulate payment" is backed here by what the tracker would
 * report: chain.transfer.seen + confirmed for the payment's address, as payments.test.ts does.
 */
async function fundByEvents(token: string, part: FundPart): Promise<string> {
  const p = byToken.get(token);
  if (!p) throw new Error('unknown token');
  const res = await gql(stack.url, 'query($id: ID!) { payment(id: $id) { amountDue coin { decimals } } }', { id: p.id }, merchant.secret);
  const { amountDue, coin } = res.data.payment as { amountDue: string; coin: { decimals: number } };
  const units = fraction(amountDue, coin.decimals, 1n, part === 'half' ? 2n : 1n);
  const data: EventData<'chain.transfer.seen'> = {
    network: p.coin.id.split(':')[0]!,
    txHash: `0x${randomBytes(32).toString('hex')}`,
    index: 0,
    from: null,
    to: p.address.address,
    coinId: p.coin.id,
    amount: units.toString(),
    blockHeight: 100,
    blockHash: `0x${randomBytes(32).toString('hex')}`,
    confirmations: 1,
    addressId: p.address.id,
    merchantId: merchant.id,
    internal: false,
  };
  await stack.bus.publish('chain.transfer.seen', data, { id: randomUUID(), key: data.addressId });
  await stack.bus.publish('chain.transfer.confirmed', data, { id: randomUUID(), key: data.addressId });
  return data.txHash;
}

/** The dev server's /__dev/fund forwards here (FUND_URL), so the button in the page drives fundByEvents. */
async function serveFund(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const { token, part } = JSON.parse(raw) as { token: string; part: FundPart };
      fundByEvents(token, part).then(
        (txHash) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ txHash })),
        (err: Error) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message })),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return server;
}

/** Vite is ESM-only and jest's module system cannot load it: the dev server runs as a child under tsx. */
async function startWidget(env: Record<string, string>, args = ['--import', 'tsx', 'widget/dev/cli.ts']): Promise<{ child: ChildProcess; url: string }> {
  const root = path.resolve(__dirname, '..');
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`widget dev server did not start: ${output}`)), 30_000);
    const onData = (c: Buffer) => {
      output += c.toString();
      const m = output.match(/widget: ready at (\S+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`widget dev server exited (${code}): ${output}`));
    });
  });
  return { child, url };
}

async function stopWidget(w: { child: ChildProcess } | undefined = widget): Promise<void> {
  const child = w?.child;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function createPayment(input: Record<string, unknown>): Promise<{ p: Created; token: string }> {
  const res = await gql(
    stack.url,
    'mutation($input: CreatePaymentInput!) { createPayment(input: $input) { id paymentUri checkoutUrl address { id address } coin { id } } }',
    { input },
    merchant.secret,
  );
  if (!res.data) throw new Error(`createPayment failed: ${JSON.stringify(res.errors)}`);
  const p = res.data.createPayment as Created;
  const token = p.checkoutUrl.split('/').pop()!;
  byToken.set(token, p);
  return { p, token };
}

async function newPage(width = 360): Promise<Page> {
  const page = await context.newPage();
  await page.setViewportSize({ width, height: 900 });
  page.on('request', (r) => {
    const host = new URL(r.url()).hostname;
    if (!['127.0.0.1', 'localhost'].includes(host) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
  });
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

/** Screenshots the QR image as the browser drew it and decodes it. */
async function decodeQr(page: Page): Promise<string | undefined> {
  const png = PNG.sync.read(await page.getByTestId('qr').screenshot());
  return jsQR(new Uint8ClampedArray(png.data), png.width, png.height)?.data;
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  stack = await startStack();
  merchant = await stack.newMerchant('Browser shop');
  // What the tracker reports every few seconds; without it the page rightly says the network is down.
  await stack.bus.publish(
    'chain.status',
    { network: 'dev-evm', available: true, scannedHeight: 100, tipHeight: 100, lagBlocks: 0, at: new Date().toISOString() },
    { id: randomUUID(), key: 'dev-evm' },
  );
  fundServer = await serveFund();
  const fundPort = (fundServer.address() as { port: number }).port;
  widget = await startWidget({ GATEWAY_URL: stack.url, PORT: String(await freePort()), FUND_URL: `http://127.0.0.1:${fundPort}/` });
  profileDir = mkdtempSync(path.join(os.tmpdir(), 'cpg-chromium-'));
  context = await chromium.launchPersistentContext(profileDir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}, 60_000);

afterAll(async () => {
  await context?.close();
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await stopWidget();
  fundServer?.close();
  await stack?.stop();
});

describe('checkout page in chromium', () => {
  it('QR decodes to paymentUri; half paid shows the remainder live; the rest shows paid', async () => {
    const { p, token } = await createPayment({ coinId: 'dev-evm:USDT', amount: '25', description: 'Order #1001' });
    const page = await newPage();
    // The address subgraph takes the chain.status report asynchronously.
    await eventually(async () => {
      const r = await gql(stack.url, '{ network(id: "dev-evm") { status { available } } }', {}, merchant.secret);
      return r.data?.network?.status?.available === true;
    }, 'dev-evm to be reported available');
    await page.goto(`${widget.url}/checkout/${token}`);
    await page.locator('main[data-state="waiting"]').waitFor({ timeout: 20_000 });
    await page.getByTestId('qr').waitFor();
    expect(await page.getByTestId('amount').textContent()).toBe('25 USDT');
    expect(await page.getByTestId('network').textContent()).toContain('USDT on Dev EVM (anvil)');
    expect(await page.getByTestId('address').textContent()).toBe(p.address.address);
    expect(await decodeQr(page)).toBe(p.paymentUri);
    // Fits 360 px: nothing scrolls sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await shot(page, 'waiting');
    // Survives only if the page is never reloaded.
    await page.evaluate(() => ((window as unknown as { marker: number }).marker = 1));

    await page.getByRole('button', { name: 'Pay half' }).click();
    await page.locator('main[data-state="partial"]').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('amount').textContent()).toBe('12.5 USDT');
    await page.locator(`[data-testid="qr"][data-uri$="uint256=12500000"]`).waitFor();
    expect(await decodeQr(page)).toBe(p.paymentUri.replace('uint256=25000000', 'uint256=12500000'));
    expect(await page.locator('[aria-live="polite"]').textContent()).toBe('Payment status: Partially paid');
    await shot(page, 'partially-paid');

    await page.getByRole('button', { name: 'Pay the full amount' }).click();
    await page.locator('main[data-state="paid"]').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('status').textContent()).toBe('Paid');
    expect(await page.evaluate(() => (window as unknown as { marker?: number }).marker)).toBe(1);
    await shot(page, 'paid');

    await page.emulateMedia({ colorScheme: 'dark' });
    await shot(page, 'paid-dark');
    await page.close();
  });

  it('an unknown token shows "payment not found"', async () => {
    const page = await newPage();
    await page.goto(`${widget.url}/checkout/${'A'.repeat(43)}`);
    await page.locator('main[data-state="not_found"]').waitFor({ timeout: 15_000 });
    await shot(page, 'not-found');
    await page.close();
  });

  it('every other state, rendered from fixtures with the GraphQL traffic stubbed (screenshots)', async () => {
    const states = {
      confirming: fixture({
        status: 'CONFIRMING',
        amountReceived: '25',
        amountDue: '0',
        deposits: [{ id: 'd', amount: '25', confirmations: 4, status: 'SEEN' }],
      }),
      overpaid: fixture({ status: 'OVERPAID', amountReceived: '30', amountDue: '0' }),
      expired: fixture({ status: 'EXPIRED', amountReceived: '5', amountDue: '20' }),
      'paid-late': fixture({ status: 'PAID', paidLate: true, amountReceived: '25', amountDue: '0' }),
      'on-hold': fixture({ status: 'ON_HOLD', amountReceived: '25', amountDue: '0' }),
      'network-unavailable': (() => {
        const f = fixture();
        return { ...f, coin: { ...f.coin, network: { ...f.coin.network, status: { available: false } } } };
      })(),
      'waiting-tron-dark': fixture({
        expiresAt: new Date(Date.now() + 3 * 60_000).toISOString(),
        coin: {
          id: 'tron:USDT',
          symbol: 'USDT',
          name: 'Tether USD',
          decimals: 6,
          contract: 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t',
          network: { id: 'tron', name: 'Tron', family: 'TRON', confirmations: 19, testnet: false, status: { available: true } },
        },
        address: { address: 'TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf' },
        paymentUri: 'tron:TXYZopYRdj2D9XRtbG411XZZ3kM5VkAeBf?amount=25&token=TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t',
      }),
    };
    const page = await newPage();
    let current: unknown = null;
    await page.route('**/graphql', (route) => route.fulfill({ json: { data: { checkout: current } } }));
    // A graphql-ws peer that accepts and then says nothing: the page is live, the fixture stays put.
    await page.routeWebSocket(/\/graphql$/, (ws) => {
      ws.onMessage((m) => {
        if (JSON.parse(String(m)).type === 'connection_init') ws.send(JSON.stringify({ type: 'connection_ack' }));
      });
    });
    for (const [name, p] of Object.entries(states)) {
      current = { ...p, expiresAt: name.startsWith('waiting') ? p.expiresAt : new Date(Date.now() + 14 * 60_000).toISOString() };
      await page.goto(`${widget.url}/checkout/fixture${name.endsWith('dark') ? '?theme=dark' : ''}`);
      await page.locator(`main[data-state]:not([data-state="loading"])`).waitFor();
      await shot(page, name);
    }
    expect(await page.locator('main').getAttribute('data-state')).toBe('waiting');
    await page.close();
  });

  it('the production build, served by widget/serve.mjs, works and has no simulate control', async () => {
    const outDir = mkdtempSync(path.join(os.tmpdir(), 'cpg-widget-dist-'));
    let served: { child: ChildProcess; url: string } | undefined;
    try {
      const vite = path.resolve(__dirname, '../node_modules/vite/bin/vite.js');
      await new Promise<void>((resolve, reject) => {
        const b = spawn(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'], {
          cwd: path.resolve(__dirname, '../widget'),
          stdio: 'inherit',
        });
        b.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`vite build exited with ${code}`))));
      });
      served = await startWidget({ GATEWAY_URL: stack.url, PORT: String(await freePort()), DIST: outDir }, ['widget/serve.mjs']);
      const { p, token } = await createPayment({ coinId: 'dev-evm:USDT', amount: '3' });
      const page = await newPage(1024);
      await page.goto(`${served.url}/checkout/${token}`);
      await page.locator('main[data-state="waiting"]').waitFor({ timeout: 15_000 });
      expect(await decodeQr(page)).toBe(p.paymentUri);
      expect(await page.locator('.cpg-dev').count()).toBe(0);
      // The live channel through serve.mjs's WebSocket proxy.
      await fundByEvents(token, 'full');
      await page.locator('main[data-state="paid"]').waitFor({ timeout: 15_000 });
      await shot(page, 'paid-production-desktop');
      await page.close();
    } finally {
      await stopWidget(served);
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it('asked nothing of any outside host', () => {
    expect(foreignRequests).toEqual([]);
  });
});
