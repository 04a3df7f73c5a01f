import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventData } from '@cpg/core/bus';
import type { RunningService } from '@cpg/core/http';
import { type TestEnv, createTestEnv } from '@cpg/devkit/testing';
import { RateService, StaticRateProvider } from '@cpg/core/rates';
import { startComplianceSubgraph } from '../src/server';
import { loadComplianceConfig } from '../src/config';
import { loadSanctions } from '../src/services/sanctions-store';
import { ScreeningService, T } from '../src/services/screening';
import { ChainalysisSanctionsClient } from '../src/providers/chainalysis';
import { screenTransfer } from '../src/consumers';

/**
 * The screening service on real Postgres: rules that need history (velocity, structuring,
 * exposure), exactly-once screening per transfer, append-only decisions, and a required
 * provider that is down. Transfers are fed to the consumer's function directly.
 */
const OFAC_ETH = '0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf';
const ETH = 10n ** 18n;

let env: TestEnv;
let svc: RunningService;
let screening: ScreeningService;
let slow: http.Server;
let slowUrl: string;

async function build(extra: Record<string, string> = {}): Promise<ScreeningService> {
  const cc = loadComplianceConfig({ ...process.env, ...extra });
  return new ScreeningService({
    sanctions: await loadSanctions(cc.SANCTIONS_DIR),
    provider:
      cc.KYT_PROVIDER === 'chainalysis'
        ? new ChainalysisSanctionsClient({ apiKey: 'k', baseUrl: cc.KYT_PROVIDER_URL, timeoutMs: cc.KYT_PROVIDER_TIMEOUT_MS })
        : null,
    providerRequired: cc.KYT_PROVIDER_REQUIRED,
    thresholds: cc.thresholds,
    rates: new RateService({ providers: [new StaticRateProvider(cc.rates)] }),
  });
}

beforeAll(async () => {
  env = await createTestEnv();
  svc = await startComplianceSubgraph(env.subgraphConfig(), env.log);
  screening = await build();
  // A provider that never answers in time.
  slow = http.createServer((_req, res) => setTimeout(() => res.writeHead(200).end('{"identifications":[]}'), 1000));
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await svc?.stop();
  await new Promise<void>((r) => slow.close(() => r()));
  await env?.cleanup();
});

const merchantId = randomUUID();

function transfer(from: string | null, amount: bigint, over: Partial<EventData<'chain.transfer.seen'>> = {}): EventData<'chain.transfer.seen'> {
  return {
    network: 'dev-evm',
    txHash: `0x${randomBytes(32).toString('hex')}`,
    index: 0,
    from,
    to: `0x${randomBytes(20).toString('hex')}`,
    coinId: 'dev-evm:ETH',
    amount: amount.toString(),
    blockHeight: 1,
    blockHash: null,
    confirmations: 1,
    addressId: randomUUID(),
    merchantId,
    internal: false,
    ...over,
  };
}

async function decisionOf(t: EventData<'chain.transfer.seen'>) {
  const [row] = await svc.orm.em
    .fork()
    .execute<{ decision: string; reasons: string[] }[]>(
      `select a.decision, a.reasons from ${T}.transfers t join ${T}.assessments a on a.id = t.assessment_id where t.tx_hash = ?`,
      [t.txHash.toLowerCase()],
    );
  return row!;
}

const screen = (t: EventData<'chain.transfer.seen'>, s = screening, now = new Date()) => screenTransfer(svc, s, t, randomUUID(), now);

describe('rules with history', () => {
  it('velocity: the 10th deposit from one sender to one merchant within the hour is REVIEW; other merchants and senders are not counted', async () => {
    const sender = `0x${randomBytes(20).toString('hex')}`;
    const base = Date.now();
    // The same sender paying other merchants' customers (an exchange, say) does not count here.
    for (let i = 0; i < 5; i++) await screen(transfer(sender, ETH / 100n, { merchantId: randomUUID() }), screening, new Date(base + i * 1000));
    const ts = Array.from({ length: 10 }, () => transfer(sender, ETH / 100n));
    for (const [i, t] of ts.entries()) await screen(t, screening, new Date(base + i * 60_000));
    expect((await decisionOf(ts[8]!)).decision).toBe('ALLOW');
    const tenth = await decisionOf(ts[9]!);
    expect(tenth.decision).toBe('REVIEW');
    expect(tenth.reasons.join(' ')).toMatch(/velocity: 10 transfers/);
    const other = `0x${randomBytes(20).toString('hex')}`;
    const two = [transfer(other, ETH / 100n), transfer(other, ETH / 100n)];
    for (const t of two) await screen(t);
    expect((await decisionOf(two[1]!)).decision).toBe('ALLOW');
  });

  it('structuring: three deposits just under USD 1000 within 24 h are REVIEW; ordinary amounts are not', async () => {
    const sender = `0x${randomBytes(20).toString('hex')}`;
    const justUnder = (usd: bigint) => (usd * ETH) / 3000n; // ETH at USD 3000
    const base = Date.now() - 10 * 3600_000;
    const ts = [950n, 980n, 930n].map((u) => transfer(sender, justUnder(u)));
    for (const [i, t] of ts.entries()) await screen(t, screening, new Date(base + i * 3 * 3600_000));
    expect((await decisionOf(ts[1]!)).decision).toBe('ALLOW');
    const third = await decisionOf(ts[2]!);
    expect(third.decision).toBe('REVIEW');
    expect(third.reasons.join(' ')).toMatch(/structuring: 3 transfers/);
    const plain = `0x${randomBytes(20).toString('hex')}`;
    const ordinary = [100n, 200n, 150n].map((u) => transfer(plain, justUnder(u)));
    for (const t of ordinary) await screen(t);
    expect((await decisionOf(ordinary[2]!)).decision).toBe('ALLOW');
  });

  it('exposure: an address that received from a BLOCKed sender is REVIEW when it is screened later', async () => {
    const ours = `0x${randomBytes(20).toString('hex')}`;
    const t = transfer(OFAC_ETH, ETH / 10n, { to: ours });
    await screen(t);
    expect((await decisionOf(t)).decision).toBe('BLOCK');
    const next = transfer(ours, ETH / 100n);
    await screen(next);
    const d = await decisionOf(next);
    expect(d.decision).toBe('REVIEW');
    expect(d.reasons.join(' ')).toMatch(/exposure: .* received funds from BLOCKed address/);
  });

  it('a transfer with no single sender is screened on what there is, and says so', async () => {
    const t = transfer(null, ETH / 100n);
    await screen(t);
    const d = await decisionOf(t);
    expect(d.decision).toBe('ALLOW');
    expect(d.reasons[0]).toMatch(/sender unknown/);
  });
});

describe('decisions', () => {
  it('each transfer is screened once, whatever the redeliveries; REVIEW/BLOCK raise one alert and one hold event', async () => {
    const t = transfer(OFAC_ETH, ETH / 10n);
    expect(await screen(t)).toBe(true);
    expect(await screen(t)).toBe(false);
    await screenTransfer(svc, screening, { ...t, confirmations: 3 }, randomUUID());
    const em = svc.orm.em.fork();
    const subject = `deposit:dev-evm:${t.txHash}:0`;
    expect(await em.execute(`select id from ${T}.assessments where subject_ref = ?`, [subject])).toHaveLength(1);
    const alerts = await em.execute<{ id: string; status: string }[]>(`select id, status from ${T}.alerts where subject_ref = ?`, [subject]);
    expect(alerts).toHaveLength(1);
    const events = await em.execute<{ type: string }[]>(`select type from "compliance".outbox where payload->>'alertId' = ? order by type`, [alerts[0]!.id]);
    expect(events.map((e) => e.type)).toEqual(['compliance.alert', 'compliance.deposit_hold']);
  });

  it('an ALLOW screening decides the deposit too: one compliance.deposit_hold CLEAR, no alert, whatever the redeliveries', async () => {
    const t = transfer(`0x${randomBytes(20).toString('hex')}`, ETH / 100n, { txHash: `0x${randomBytes(32).toString('hex').toUpperCase()}`, index: 2 });
    expect(await screen(t)).toBe(true);
    expect(await screen(t)).toBe(false);
    await screenTransfer(svc, screening, { ...t, confirmations: 3 }, randomUUID());
    const em = svc.orm.em.fork();
    const txHash = t.txHash.toLowerCase();
    expect(await em.execute(`select id from ${T}.alerts where subject_ref = ?`, [`deposit:dev-evm:${txHash}:2`])).toHaveLength(0);
    const events = await em.execute<{ type: string; payload: Record<string, unknown> }[]>(
      `select type, payload from "compliance".outbox where payload->>'txHash' = ? order by type`,
      [txHash],
    );
    expect(events).toHaveLength(1);
    const [assessment] = await em.execute<{ id: string }[]>(`select id from ${T}.assessments where subject_ref = ?`, [`deposit:dev-evm:${txHash}:2`]);
    expect(events[0]).toEqual({
      type: 'compliance.deposit_hold',
      payload: {
        alertId: null,
        assessmentId: assessment!.id,
        merchantId,
        action: 'CLEAR',
        network: 'dev-evm',
        txHash,
        index: 2,
        addressId: t.addressId,
        coinId: 'dev-evm:ETH',
        amount: t.amount,
      },
    });
  });

  it('stored decisions are append-only: the database refuses updates and deletes', async () => {
    const em = svc.orm.em.fork();
    await expect(em.execute(`update ${T}.assessments set decision = 'ALLOW'`)).rejects.toThrow(/append-only/);
    await expect(em.execute(`delete from ${T}.assessments`)).rejects.toThrow(/append-only/);
  });

  it('a required provider that times out makes the screening REVIEW with the reason; optional, it degrades to local rules', async () => {
    const required = await build({ KYT_PROVIDER: 'chainalysis', KYT_PROVIDER_API_KEY: 'k', KYT_PROVIDER_URL: slowUrl, KYT_PROVIDER_TIMEOUT_MS: '100' });
    const t = transfer(`0x${randomBytes(20).toString('hex')}`, ETH / 100n);
    await screen(t, required);
    const d = await decisionOf(t);
    expect(d.decision).toBe('REVIEW');
    expect(d.reasons.join(' ')).toMatch(/provider chainalysis unavailable \(timed out after 100 ms\)/);
    const optional = await build({
      KYT_PROVIDER: 'chainalysis',
      KYT_PROVIDER_API_KEY: 'k',
      KYT_PROVIDER_URL: slowUrl,
      KYT_PROVIDER_TIMEOUT_MS: '100',
      KYT_PROVIDER_REQUIRED: '0',
    });
    const t2 = transfer(OFAC_ETH, ETH / 100n);
    await screen(t2, optional);
    const d2 = await decisionOf(t2);
    expect(d2.decision).toBe('BLOCK');
    expect(d2.reasons.join(' ')).toMatch(/local rules only/);
  });
});
