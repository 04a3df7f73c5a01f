import { randomBytes, randomUUID } from 'node:crypto';
import { Bus } from '@cpg/core/bus';
import { getNetwork, type NetworkConfig, type RpcTransport } from '@cpg/chains';
import { startAnvil } from '@cpg/devkit/chains/evm/dev';
import { createRpcPool } from '@cpg/chains/rpc';
import { eventually, gql } from '@cpg/devkit/testing';
import { type RunningTracker, startTrackerWorker } from '@cpg/worker-tracker/src/worker';
import { startComplianceSubgraph } from '@cpg/subgraph-compliance/src/server';
import { type Stack, startStack } from './support/stack';
import { type EthBalance, type Merchant, createEthPayment, ethBalance, ethTransferEvent, ok } from './support/merchant-calls';

/**
 * Compliance (KYT) end to end: the whole supergraph on real Postgres and NATS, anvil and the
 * tracker for the headline case (a deposit from a real address on the OFAC list), and crafted
 * chain events for the orderings a live chain does not produce on demand.
 */
jest.setTimeout(90_000);

/** On the OFAC SDN list of 2025-11-19 (shared/fixtures/sanctions/brave-intl_2025-11-19/sanctioned_addresses_ETH.txt). */
const OFAC_ETH = '0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf';
const CLEAN = '0x2222222222222222222222222222222222222222';
const ETH = 10n ** 18n;

let stack: Stack;
let anvil: Awaited<ReturnType<typeof startAnvil>>;
let tracker: RunningTracker;
let rpc: RpcTransport;
let bus: Bus;

beforeAll(async () => {
  [anvil, stack] = await Promise.all([startAnvil({ port: 0 }), startStack()]);
  const evm: NetworkConfig = { ...getNetwork('dev-evm'), confirmations: 2, rpc: [{ url: anvil.rpcUrl, supportsTracing: true, supportsBlockReceipts: true }] };
  rpc = createRpcPool(evm.rpc);
  tracker = await startTrackerWorker(stack.env.workerConfig(stack.env.natsAuth('tracker')), {
    networks: [evm],
    log: stack.env.log,
    leaseTtlMs: false,
    scanner: { pollIntervalMs: 100 },
  });
  bus = await Bus.connect({ url: stack.env.natsUrl, namespace: stack.env.namespace, name: 'compliance-test', log: stack.env.log });
}, 90_000);

afterAll(async () => {
  await bus?.close();
  await tracker?.stop();
  await stack?.stop();
  await anvil?.stop();
});

async function createPayment(m: Merchant, amount = '0.5') {
  return createEthPayment(stack, m, amount);
}

async function balance(m: Merchant): Promise<EthBalance> {
  return ethBalance(stack, m);
}

async function payment(m: Merchant, id: string) {
  const d = await ok(gql(stack.url, 'query($id: ID!) { payment(id: $id) { status deposits { status risk { decision level reasons } } } }', { id }, m.secret));
  return d.payment;
}

async function alertsOf(token: string, status?: string) {
  const d = await ok(
    gql(
      stack.url,
      'query($s: String) { alerts(status: $s) { nodes { id merchant { id } subject level status reasons note resolvedAt } } }',
      { s: status ?? null },
      token,
    ),
  );
  return d.alerts.nodes as { id: string; merchant: { id: string }; subject: string; level: string; status: string; reasons: string[]; note: string | null }[];
}

const resolve = (id: string, decision: string, note = 'checked') =>
  stack.operator('mutation($id: ID!, $d: RiskDecision!, $n: String) { resolveAlert(id: $id, decision: $d, note: $n) { id status note resolvedAt } }', {
    id,
    d: decision,
    n: note,
  });

/** A chain event as the tracker would publish it, for one payment's address. */
function transfer(
  m: Merchant,
  p: { address: string; addressId: string },
  from: string | null,
  amount: bigint,
  txHash = `0x${randomBytes(32).toString('hex')}`,
) {
  const t = ethTransferEvent(m, p, from, amount, txHash);
  const send = (kind: 'seen' | 'confirmed', id = `${txHash}:${kind}`) =>
    bus.publish(`chain.transfer.${kind}`, { ...t, confirmations: kind === 'seen' ? 1 : 2 }, { id, key: `${txHash}-0` });
  return { t, send };
}

describe('screenAddress and the grey list', () => {
  it('a real OFAC address is BLOCK SEVERE with the list date; an ordinary one is ALLOW; both are stored', async () => {
    const m = await stack.newMerchant('Screens');
    const q = 'query($a: String!) { screenAddress(networkId: "ethereum", address: $a) { id subject decision level score reasons screenedAt } }';
    const bad = (await ok(gql(stack.url, q, { a: OFAC_ETH.toLowerCase() }, m.secret))).screenAddress;
    expect(bad).toMatchObject({ decision: 'BLOCK', level: 'SEVERE', score: 100 });
    expect(bad.reasons[0]).toMatch(/OFAC SDN.*2025-11-19/);
    const good = (await ok(gql(stack.url, q, { a: CLEAN }, m.secret))).screenAddress;
    expect(good).toMatchObject({ decision: 'ALLOW', level: 'LOW', reasons: ['no rule fired'] });
    const invalid = await gql(stack.url, q, { a: 'not-an-address' }, m.secret);
    expect(invalid.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('the operator manages global entries, merchants their own; each merchant screens against global + own only', async () => {
    const a = await stack.newMerchant('Grey A');
    const b = await stack.newMerchant('Grey B');
    const ADD = 'mutation($i: GreyListInput!) { addToGreyList(input: $i) { id address action reason source network { id } } }';
    const REMOVE = 'mutation($id: ID!) { removeFromGreyList(id: $id) }';
    const addrG = '0x3333333333333333333333333333333333333333';
    const addrA = '0x4444444444444444444444444444444444444444';
    const global = (await ok(stack.operator(ADD, { i: { networkId: 'dev-evm', address: addrG, action: 'BLOCK', reason: 'mixer payouts' } }))).addToGreyList;
    expect(global).toMatchObject({ action: 'BLOCK', source: 'operator', network: { id: 'dev-evm' } });
    const own = (await ok(gql(stack.url, ADD, { i: { networkId: 'dev-evm', address: addrA, action: 'REVIEW', reason: 'chargeback fraud' } }, a.secret)))
      .addToGreyList;
    expect(own.source).toBe('merchant');
    const dup = await gql(
      stack.url,
      ADD,
      { i: { networkId: 'dev-evm', address: addrA.toUpperCase().replace('0X', '0x'), action: 'BLOCK', reason: 'again' } },
      a.secret,
    );
    expect(dup.errors?.[0]?.extensions?.code).toBe('CONFLICT');
    const allow = await gql(stack.url, ADD, { i: { networkId: 'dev-evm', address: CLEAN, action: 'ALLOW', reason: 'x' } }, a.secret);
    expect(allow.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');

    // Permissions.
    expect((await gql(stack.url, REMOVE, { id: global.id }, a.secret)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql(stack.url, REMOVE, { id: own.id }, b.secret)).errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
    expect((await stack.operator(REMOVE, { id: own.id })).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    // Lists: a merchant sees global + own.
    const list = async (token: string) => (await ok(gql(stack.url, '{ greyList { id } }', {}, token))).greyList.map((e: { id: string }) => e.id);
    expect(await list(a.secret)).toEqual(expect.arrayContaining([global.id, own.id]));
    expect(await list(b.secret)).toContain(global.id);
    expect(await list(b.secret)).not.toContain(own.id);

    // Screening: A's entry applies to A only; the global one to both.
    const q = 'query($a: String!) { screenAddress(networkId: "dev-evm", address: $a) { decision reasons } }';
    expect((await ok(gql(stack.url, q, { a: addrA }, a.secret))).screenAddress.decision).toBe('REVIEW');
    expect((await ok(gql(stack.url, q, { a: addrA }, b.secret))).screenAddress.decision).toBe('ALLOW');
    expect((await ok(gql(stack.url, q, { a: addrG }, b.secret))).screenAddress).toMatchObject({
      decision: 'BLOCK',
      reasons: [expect.stringMatching(/global.*mixer payouts/)],
    });

    // Removal by the owner takes effect.
    expect((await ok(gql(stack.url, REMOVE, { id: own.id }, a.secret))).removeFromGreyList).toBe(true);
    expect((await ok(gql(stack.url, q, { a: addrA }, a.secret))).screenAddress.decision).toBe('ALLOW');
    expect((await ok(stack.operator(REMOVE, { id: global.id }))).removeFromGreyList).toBe(true);
  });
});

describe('deposits: alert, hold, release', () => {
  it('hold before credit: the credit lands in held; resolveAlert(ALLOW) releases it once; the merchant sees only its own alerts and cannot resolve', async () => {
    const m = await stack.newMerchant('Held first');
    const other = await stack.newMerchant('Other');
    // Deliveries are recorded whether or not the endpoint answers: nothing listens on port 9.
    await ok(
      gql(stack.url, 'mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/", events: ["payment.on_hold"] }) { signingSecret } }', {}, m.secret),
    );
    const p = await createPayment(m);
    const { send } = transfer(m, p, OFAC_ETH, ETH / 2n);
    await send('seen');
    const [alert] = await eventually(async () => {
      const a = await alertsOf(m.secret);
      return a.length ? a : null;
    }, 'an alert');
    expect(alert).toMatchObject({ status: 'OPEN', level: 'SEVERE', subject: OFAC_ETH, merchant: { id: m.id } });
    await eventually(async () => (await payment(m, p.id)).status === 'ON_HOLD', 'ON_HOLD');
    await eventually(async () => {
      const d = await ok(gql(stack.url, '{ me { webhookEndpoints { deliveries { nodes { event } } } } }', {}, m.secret));
      return d.me.webhookEndpoints[0].deliveries.nodes.some((n: { event: string }) => n.event === 'payment.on_hold');
    }, 'the payment.on_hold webhook');
    await send('confirmed');
    await eventually(async () => (await balance(m)).held === '0.5', 'the credit in held');
    expect(await balance(m)).toMatchObject({ available: '0', pending: '0', held: '0.5' });
    const risk = (await payment(m, p.id)).deposits[0].risk;
    expect(risk).toMatchObject({ decision: 'BLOCK', level: 'SEVERE' });

    // Isolation: the other merchant sees nothing and nobody but the operator resolves.
    expect(await alertsOf(other.secret)).toEqual([]);
    const byMerchant = await gql(stack.url, 'mutation($id: ID!) { resolveAlert(id: $id, decision: ALLOW) { id } }', { id: alert!.id }, m.secret);
    expect(byMerchant.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await stack.operator('{ alerts { nodes { id } } }')).data.alerts.nodes.map((n: { id: string }) => n.id)).toContain(alert!.id);

    const released = await ok(resolve(alert!.id, 'ALLOW', 'false positive: reviewed'));
    expect(released.resolveAlert).toMatchObject({ status: 'ALLOWED', note: 'false positive: reviewed' });
    await eventually(async () => (await balance(m)).available === '0.5', 'released to available');
    await eventually(async () => (await payment(m, p.id)).status === 'PAID', 'PAID after release');
    // A repeated decision is a no-op; re-blocking released funds is refused.
    expect((await ok(resolve(alert!.id, 'ALLOW'))).resolveAlert.status).toBe('ALLOWED');
    expect((await resolve(alert!.id, 'BLOCK')).errors?.[0]?.extensions?.code).toBe('CONFLICT');
    // Redelivered chain events change nothing.
    await send('confirmed', `${randomBytes(8).toString('hex')}`);
    await new Promise((r) => setTimeout(r, 500));
    expect(await balance(m)).toMatchObject({ available: '0.5', pending: '0', held: '0' });
  });

  it('credit before the decision (compliance down): the credit waits in held, never available; the late HOLD and BLOCK keep it there', async () => {
    const m = await stack.newMerchant('Credited first');
    const p = await createPayment(m);
    const { send } = transfer(m, p, OFAC_ETH, ETH / 2n);
    // Compliance is down while the deposit is seen and confirmed.
    const port = stack.subgraphs.compliance.port;
    await stack.subgraphs.compliance.stop();
    await send('seen');
    await send('confirmed');
    await eventually(async () => (await balance(m)).held === '0.5', 'credited to held, pending screening');
    expect(await balance(m)).toMatchObject({ available: '0', pending: '0', held: '0.5', pendingScreening: '0.5' });
    stack.subgraphs.compliance = await startComplianceSubgraph(stack.env.subgraphConfig({ PORT: port, ...stack.env.natsAuth('compliance') }), stack.env.log);
    await eventually(async () => (await payment(m, p.id)).status === 'ON_HOLD', 'ON_HOLD');
    // Screened now: held by compliance, no longer merely waiting for it.
    await eventually(async () => (await balance(m)).pendingScreening === '0', 'decided');
    expect(await balance(m)).toMatchObject({ available: '0', held: '0.5' });
    const [alert] = await alertsOf(m.secret, 'OPEN');
    expect((await ok(resolve(alert!.id, 'BLOCK', 'confirmed sanctioned'))).resolveAlert.status).toBe('BLOCKED');
    await new Promise((r) => setTimeout(r, 500));
    // BLOCKed funds stay held and visible; the payment stays on hold.
    expect(await balance(m)).toMatchObject({ available: '0', held: '0.5', pendingScreening: '0' });
    expect((await payment(m, p.id)).status).toBe('ON_HOLD');
    const { data } = await gql(stack.url, '{ me { ledger(first: 20) { nodes { kind amount } } } }', {}, m.secret);
    // Exactly once, and never in available: the hold and block only recorded the decision.
    expect(data.me.ledger.nodes.map((n: { kind: string; amount: string }) => `${n.kind} ${n.amount}`)).toEqual([
      'deposit_pending_screening.pending -0.5',
      'deposit_pending_screening.held 0.5',
      'deposit_seen.pending 0.5',
    ]);
  });

  it('an ordinary sender raises nothing; the report lists alerts, decisions and transfers over the threshold', async () => {
    const m = await stack.newMerchant('Reported');
    const from = new Date(Date.now() - 1000).toISOString();
    const p1 = await createPayment(m);
    const clean = transfer(m, p1, CLEAN, ETH / 2n); // USD 1500: over the travel-rule threshold
    await clean.send('seen');
    await clean.send('confirmed');
    await eventually(async () => (await balance(m)).available === '0.5', 'clean credit');
    expect(await alertsOf(m.secret)).toEqual([]);
    expect((await payment(m, p1.id)).deposits[0].risk).toMatchObject({ decision: 'ALLOW', reasons: [expect.stringMatching(/travel rule/)] });
    const p2 = await createPayment(m, '0.1');
    await transfer(m, p2, OFAC_ETH, ETH / 10n).send('seen');
    await eventually(async () => (await alertsOf(m.secret)).length === 1, 'one alert');
    const to = new Date(Date.now() + 1000).toISOString();
    const q = 'query($f: DateTime!, $t: DateTime!, $x: ReportFormat) { complianceReport(from: $f, to: $t, format: $x) { format rows content } }';
    const json = (await ok(gql(stack.url, q, { f: from, t: to, x: 'JSON' }, m.secret))).complianceReport;
    const rows = JSON.parse(json.content) as { kind: string; subject: string; decision: string }[];
    expect(rows.map((r) => r.kind).sort()).toEqual(['alert', 'decision', 'transfer']);
    expect(rows.find((r) => r.kind === 'transfer')).toMatchObject({ subject: CLEAN, decision: 'ALLOW' });
    const csv = (await ok(gql(stack.url, q, { f: from, t: to }, m.secret))).complianceReport;
    expect(csv.format).toBe('CSV');
    expect(csv.content.split('\r\n')[0]).toBe('kind,at,id,merchantId,subject,subjectRef,decision,level,status,network,coinId,amountBaseUnits,usd,reasons');
    expect(csv.rows).toBe(3);
    // Another merchant's report is empty.
    const other = await stack.newMerchant('Empty report');
    expect((await ok(gql(stack.url, q, { f: from, t: to, x: 'JSON' }, other.secret))).complianceReport.rows).toBe(0);
  });

  it('a held deposit reorged after its credit is taken back from held, not from available', async () => {
    const m = await stack.newMerchant('Held then reorged');
    const p = await createPayment(m);
    const { t, send } = transfer(m, p, OFAC_ETH, ETH / 2n);
    await send('seen');
    await eventually(async () => (await payment(m, p.id)).status === 'ON_HOLD', 'ON_HOLD');
    await send('confirmed');
    await eventually(async () => (await balance(m)).held === '0.5', 'held');
    await bus.publish('chain.transfer.reorged', { ...t, confirmations: 0 }, { id: `${t.txHash}:reorged`, key: `${t.txHash}-0` });
    await eventually(async () => (await balance(m)).held === '0', 'reversed from held');
    expect(await balance(m)).toMatchObject({ available: '0', pending: '0', held: '0' });
    expect((await payment(m, p.id)).deposits[0].status).toBe('REORGED');
  });

  it('a release that overtakes its hold (redelivery order) leaves the deposit released, once', async () => {
    const m = await stack.newMerchant('Out of order');
    const p = await createPayment(m);
    const { t, send } = transfer(m, p, CLEAN, ETH / 2n);
    await send('seen');
    await send('confirmed');
    await eventually(async () => (await balance(m)).available === '0.5', 'credited');
    const alertId = randomUUID();
    const hold = (action: 'HOLD' | 'RELEASE') =>
      bus.publish(
        'compliance.deposit_hold',
        { alertId, merchantId: m.id, action, network: t.network, txHash: t.txHash, index: 0, addressId: p.addressId, coinId: t.coinId, amount: t.amount },
        { id: `${alertId}:${action}`, key: alertId },
      );
    await hold('RELEASE');
    await hold('HOLD');
    await new Promise((r) => setTimeout(r, 1000));
    expect(await balance(m)).toMatchObject({ available: '0.5', held: '0' });
    expect((await payment(m, p.id)).status).toBe('PAID');
  });

  it('compliance.screen answers the withdrawal subgraph: OUT to a sanctioned address is BLOCK and stored', async () => {
    const m = await stack.newMerchant('Payouts');
    const reply = await bus.request('compliance.screen', {
      merchantId: m.id,
      networkId: 'dev-evm',
      address: OFAC_ETH,
      direction: 'OUT',
      coinId: 'dev-evm:ETH',
      amount: (ETH / 100n).toString(),
      subjectRef: `withdrawal:${'0'.repeat(8)}-0000-4000-8000-${'0'.repeat(12)}`,
    });
    expect(reply).toMatchObject({ decision: 'BLOCK', score: 100, level: 'SEVERE' });
    expect(reply.assessmentId).toMatch(/^[0-9a-f-]{36}$/);
    const clean = await bus.request('compliance.screen', {
      merchantId: m.id,
      networkId: 'dev-evm',
      address: CLEAN,
      direction: 'OUT',
      coinId: 'dev-evm:ETH',
      amount: '1',
      subjectRef: 'withdrawal:x',
    });
    expect(clean.decision).toBe('ALLOW');
  });
});

describe('headline: a deposit from a real OFAC-listed address on anvil', () => {
  it('BLOCK, alert, payment ON_HOLD, credit held not available; a BLOCK decision keeps it held; ALLOW releases it', async () => {
    const m = await stack.newMerchant('Anvil shop');
    const p = await createPayment(m, '1');
    await eventually(async () => tracker.watchLists.lists.get('dev-evm')?.get(p.address) !== undefined, 'the tracker to watch the address');
    await rpc.call('anvil_setBalance', [OFAC_ETH, `0x${(10n * ETH).toString(16)}`]);
    await rpc.call('anvil_impersonateAccount', [OFAC_ETH]);
    await rpc.call<string>('eth_sendTransaction', [{ from: OFAC_ETH, to: p.address, value: `0x${ETH.toString(16)}` }]);
    await rpc.call('anvil_stopImpersonatingAccount', [OFAC_ETH]);
    const [alert] = await eventually(
      async () => {
        const a = await alertsOf(m.secret);
        return a.length ? a : null;
      },
      'the alert',
      20_000,
    );
    expect(alert!.reasons[0]).toMatch(/OFAC SDN/);
    await eventually(async () => (await payment(m, p.id)).status === 'ON_HOLD', 'ON_HOLD', 20_000);
    await rpc.call('anvil_mine', ['0x2']);
    await eventually(async () => (await balance(m)).held === '1', 'held after confirmations', 20_000);
    expect(await balance(m)).toMatchObject({ available: '0', pending: '0', held: '1' });
    expect((await payment(m, p.id)).deposits[0].risk).toMatchObject({ decision: 'BLOCK', level: 'SEVERE' });

    expect((await ok(resolve(alert!.id, 'BLOCK', 'OFAC match confirmed'))).resolveAlert.status).toBe('BLOCKED');
    await new Promise((r) => setTimeout(r, 500));
    expect(await balance(m)).toMatchObject({ available: '0', held: '1' });
    expect((await payment(m, p.id)).status).toBe('ON_HOLD');

    // A later review clears it: ALLOW releases the funds and the payment completes.
    expect((await ok(resolve(alert!.id, 'ALLOW', 'licence obtained'))).resolveAlert.status).toBe('ALLOWED');
    await eventually(async () => (await balance(m)).available === '1', 'released', 20_000);
    expect(await balance(m)).toMatchObject({ held: '0', pending: '0' });
    await eventually(async () => (await payment(m, p.id)).status === 'PAID', 'PAID', 20_000);
  });
});
