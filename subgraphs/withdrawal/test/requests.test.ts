// The withdrawal service against real Postgres, NATS and the merchant ledger, with the failures the
// gateway tests cannot produce: a hold whose reply is lost after the ledger applied it, screening
// that blocks, reviews or is down, and the NATS screening hook's request.
import { randomUUID } from 'node:crypto';
import { AppError, type MerchantIdentity } from '@cpg/core/graphql';
import type { Bus } from '@cpg/core/bus';
import type { RunningService } from '@cpg/core/http';
import { type TestEnv, createTestEnv, eventually } from '@cpg/devkit/testing';
import { startMerchantSubgraph } from '@cpg/subgraph-merchant/src/server';
import { LedgerService } from '@cpg/subgraph-merchant/src/ledger/ledger-service';
import { unsolicitedCredit } from '@cpg/subgraph-merchant/src/ledger/deposit-postings';
import { MerchantService } from '@cpg/subgraph-merchant/src/services/merchants';
import { startWithdrawalSubgraph } from '../src/server';
import { batchOnce, reapProvisional } from '../src/services/batcher';
import { CoinCatalogue } from '../src/services/catalogue';
import { StaticFeeEstimator } from '../src/services/fees';
import { AllowAllScreening, NatsScreening, type ScreeningResult, type WithdrawalScreening } from '../src/services/screening';
import { WithdrawalService } from '../src/services/withdrawals';

const USDT = 'dev-evm:USDT';
const TO = '0x8ba1f109551bd432803012645ac136ddd64dba72';

let env: TestEnv;
let merchant: RunningService;
let withdrawal: RunningService;
const catalogue = new CoinCatalogue();

beforeAll(async () => {
  env = await createTestEnv();
  merchant = await startMerchantSubgraph(env.subgraphConfig(), env.log);
  withdrawal = await startWithdrawalSubgraph(env.subgraphConfig(), env.log);
});
afterAll(async () => {
  await withdrawal?.stop();
  await merchant?.stop();
  await env?.cleanup();
});

async function fundedMerchant(units: bigint): Promise<MerchantIdentity> {
  const { merchant: m, apiKey } = await new MerchantService(merchant.orm.em.fork()).createMerchant('w');
  await new LedgerService(merchant.orm.em.fork()).post(
    unsolicitedCredit({
      merchantId: m.id,
      coinId: USDT,
      deposit: { network: 'dev-evm', txHash: `0x${m.id.replace(/-/g, '')}`, index: 0 },
      amount: units,
      wasSeen: false,
    }),
  );
  return { kind: 'merchant', merchantId: m.id, keyId: apiKey.id, scopes: ['READ', 'WITHDRAWALS_WRITE'] };
}

async function balance(merchantId: string) {
  const b = (await new LedgerService(merchant.orm.em.fork()).balances(merchantId)).find((x) => x.coinId === USDT);
  return { available: b?.available ?? 0n, held: b?.held ?? 0n };
}

function service(opts: { bus?: Bus; screening?: WithdrawalScreening; catalogue?: CoinCatalogue } = {}): WithdrawalService {
  return new WithdrawalService(withdrawal.orm.em.fork(), {
    catalogue: opts.catalogue ?? catalogue,
    bus: opts.bus ?? withdrawal.bus,
    screening: opts.screening ?? new AllowAllScreening(),
    fees: new StaticFeeEstimator(),
    holdTimeoutMs: 5000,
    onCommitted: () => withdrawal.relay.kick(),
    onQueued: () => undefined,
    log: env.log,
  });
}

async function rows(merchantId: string): Promise<{ status: string }[]> {
  return withdrawal.orm.em.fork().execute(`select status from "withdrawal".withdrawals where merchant_id = ?`, [merchantId]);
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error('expected an error');
}

describe('requestWithdrawal compensation', () => {
  it('a hold applied by the ledger whose reply is lost is released, and nothing is left behind', async () => {
    const caller = await fundedMerchant(10_000_000n);
    let applied = 0;
    // The ledger answers, but the answer never reaches us: the worst case of a timeout.
    const lossy = {
      ...withdrawal.bus,
      request: async (name: string, req: unknown, t?: number) => {
        await withdrawal.bus.request(name as 'ledger.hold', req as never, t);
        applied++;
        throw new Error('TIMEOUT');
      },
    } as unknown as Bus;
    expect(await codeOf(service({ bus: lossy }).request(caller, { coinId: USDT, toAddress: TO, amount: '4', idempotencyKey: 'k1' }))).toBe('UNAVAILABLE');
    expect(applied).toBe(1);
    expect(await rows(caller.merchantId)).toEqual([]);
    await eventually(async () => (await balance(caller.merchantId)).held === 0n, 'the compensating release', 15_000);
    expect(await balance(caller.merchantId)).toEqual({ available: 10_000_000n, held: 0n });
    // The same key works afterwards, as a fresh request.
    const ok = await service().request(caller, { coinId: USDT, toAddress: TO, amount: '4', idempotencyKey: 'k1' });
    expect(ok.status).toBe('BATCHED');
    expect(await balance(caller.merchantId)).toEqual({ available: 6_000_000n, held: 4_000_000n });
  });

  it('INSUFFICIENT_FUNDS leaves no row and no hold', async () => {
    const caller = await fundedMerchant(1_000_000n);
    expect(await codeOf(service().request(caller, { coinId: USDT, toAddress: TO, amount: '2', idempotencyKey: 'k' }))).toBe('INSUFFICIENT_FUNDS');
    expect(await rows(caller.merchantId)).toEqual([]);
    expect(await balance(caller.merchantId)).toEqual({ available: 1_000_000n, held: 0n });
  });
});

describe('screening hook', () => {
  const fixed = (r: ScreeningResult): WithdrawalScreening => ({ screen: async () => r });

  it('BLOCK rejects with the reasons and takes no hold; REVIEW waits for the operator', async () => {
    const caller = await fundedMerchant(10_000_000n);
    const blocked = await service({ screening: fixed({ decision: 'BLOCK', reasons: ['sanctioned address', 'mixer'], assessmentId: 'a-1' }) }).request(caller, {
      coinId: USDT,
      toAddress: TO,
      amount: '1',
      idempotencyKey: 'b',
    });
    expect(blocked).toMatchObject({ status: 'REJECTED', failure_reason: 'sanctioned address; mixer', assessment_id: 'a-1', held: false });
    expect(await balance(caller.merchantId)).toEqual({ available: 10_000_000n, held: 0n });
    const reviewed = await service({ screening: fixed({ decision: 'REVIEW', reasons: ['new address'] }) }).request(caller, {
      coinId: USDT,
      toAddress: TO,
      amount: '1',
      idempotencyKey: 'r',
    });
    expect(reviewed).toMatchObject({ status: 'PENDING_APPROVAL', held: true });
    expect(await balance(caller.merchantId)).toEqual({ available: 9_000_000n, held: 1_000_000n });
  });

  it('screening that fails refuses the request with UNAVAILABLE and leaves nothing', async () => {
    const caller = await fundedMerchant(10_000_000n);
    const down: WithdrawalScreening = {
      screen: async () => {
        throw new Error('no responders');
      },
    };
    expect(await codeOf(service({ screening: down }).request(caller, { coinId: USDT, toAddress: TO, amount: '1', idempotencyKey: 'd' }))).toBe('UNAVAILABLE');
    expect(await rows(caller.merchantId)).toEqual([]);
  });

  it('the NATS hook asks compliance.screen with the withdrawal as subject', async () => {
    const caller = await fundedMerchant(10_000_000n);
    const seen: unknown[] = [];
    withdrawal.bus.reply('compliance.screen', async (req) => {
      seen.push(req);
      return { assessmentId: 'as-9', decision: 'REVIEW', score: 55, level: 'MEDIUM', reasons: ['grey list'] };
    });
    const w = await service({ screening: new NatsScreening(withdrawal.bus, 2000) }).request(caller, {
      coinId: USDT,
      toAddress: TO,
      amount: '1.5',
      idempotencyKey: 'n',
    });
    expect(w).toMatchObject({ status: 'PENDING_APPROVAL', assessment_id: 'as-9' });
    expect(seen).toEqual([
      {
        merchantId: caller.merchantId,
        networkId: 'dev-evm',
        address: '0x8ba1f109551bD432803012645Ac136ddd64DBA72',
        direction: 'OUT',
        coinId: USDT,
        amount: '1500000',
        subjectRef: `withdrawal:${w.id}`,
      },
    ]);
  });
});

describe('abandoned requests', () => {
  it('a provisional row left by a request that died is reaped and its hold released', async () => {
    const caller = await fundedMerchant(10_000_000n);
    const id = randomUUID();
    const old = new Date(Date.now() - 10 * 60_000);
    await withdrawal.orm.em.fork().execute(
      `insert into "withdrawal".withdrawals (id, merchant_id, coin_id, network_id, to_address, amount, idempotency_key, fingerprint, status, created_at, updated_at)
       values (?, ?, ?, 'dev-evm', ?, 3000000, 'dead', 'f', 'PROVISIONAL', ?, ?)`,
      [id, caller.merchantId, USDT, TO, old, old],
    );
    // The hold it asked for did land before it died.
    expect(await withdrawal.bus.request('ledger.hold', { merchantId: caller.merchantId, coinId: USDT, amount: '3000000', withdrawalId: id })).toEqual({
      ok: true,
    });
    expect(await balance(caller.merchantId)).toEqual({ available: 7_000_000n, held: 3_000_000n });
    // A fresh provisional row (a request in flight) is left alone.
    const fresh = randomUUID();
    await withdrawal.orm.em.fork().execute(
      `insert into "withdrawal".withdrawals (id, merchant_id, coin_id, network_id, to_address, amount, idempotency_key, fingerprint, status, created_at, updated_at)
       values (?, ?, ?, 'dev-evm', ?, 1, 'alive', 'f', 'PROVISIONAL', now(), now())`,
      [fresh, caller.merchantId, USDT, TO],
    );
    expect(await reapProvisional(withdrawal.orm.em, 5 * 60_000)).toBe(1);
    withdrawal.relay.kick();
    expect(await rows(caller.merchantId)).toEqual([{ status: 'PROVISIONAL' }]);
    await eventually(async () => (await balance(caller.merchantId)).held === 0n, 'the release of the dead request', 15_000);
    expect(await balance(caller.merchantId)).toEqual({ available: 10_000_000n, held: 0n });
  });
});

describe('Tron under BATCH aggregation', () => {
  it('each Tron withdrawal is a batch of one at once (the signer pays Tron batches of one only); EVM ones wait for their batch', async () => {
    const tron = new CoinCatalogue({ ...process.env, CHAIN_RPC_TRON: 'http://127.0.0.1:9' });
    const caller = await fundedMerchant(10_000_000n);
    await new LedgerService(merchant.orm.em.fork()).post(
      unsolicitedCredit({
        merchantId: caller.merchantId,
        coinId: 'tron:USDT',
        deposit: { network: 'tron', txHash: `tron-${caller.merchantId}`, index: 0 },
        amount: 10_000_000n,
        wasSeen: false,
      }),
    );
    await withdrawal.orm.em.fork().execute(
      `insert into "withdrawal".merchant_settings (merchant_id, withdrawal_aggregation, batch_max_size, batch_max_wait_seconds, updated_at)
         values (?, 'BATCH', 20, 3600, now()) on conflict (merchant_id) do update set withdrawal_aggregation = 'BATCH', batch_max_size = 20, batch_max_wait_seconds = 3600`,
      [caller.merchantId],
    );
    const svc = service({ catalogue: tron });
    const to = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
    const ws = [];
    for (const k of ['t1', 't2', 't3']) ws.push(await svc.request(caller, { coinId: 'tron:USDT', toAddress: to, amount: '1', idempotencyKey: k }));
    expect(ws.map((w) => w.status)).toEqual(['BATCHED', 'BATCHED', 'BATCHED']);
    expect(new Set(ws.map((w) => w.batch_id)).size).toBe(3);
    const evm = await svc.request(caller, { coinId: USDT, toAddress: TO, amount: '1', idempotencyKey: 'e1' });
    expect(evm.status).toBe('QUEUED');
    // The batcher leaves the EVM one for its batch (neither size nor wait reached).
    await batchOnce(withdrawal.orm.em, new Date(), tron);
    const [row] = await withdrawal.orm.em.fork().execute<{ status: string }[]>(`select status from "withdrawal".withdrawals where id = ?`, [evm.id]);
    expect(row!.status).toBe('QUEUED');
  });
});

describe('withdrawal.verify_batch', () => {
  it('confirms exactly a stored batch that may be sent, and nothing else', async () => {
    const caller = await fundedMerchant(10_000_000n);
    const w = await service().request(caller, { coinId: USDT, toAddress: TO, amount: '4', idempotencyKey: 'v1' });
    expect(w.status).toBe('BATCHED');
    const real = {
      batchId: w.batch_id!,
      merchantId: caller.merchantId,
      network: 'dev-evm',
      coinId: USDT,
      // As stored (normalised) and as batch.ready carries it.
      items: [{ withdrawalId: w.id, toAddress: w.to_address, amount: '4000000' }],
    };
    const verify = (claim: typeof real) => withdrawal.bus.request('withdrawal.verify_batch', claim, 5_000);
    expect(await verify(real)).toEqual({ ok: true });
    const item = real.items[0]!;
    expect(await verify({ ...real, items: [{ ...item, amount: '5000000' }] })).toEqual({ ok: false, reason: `withdrawal ${w.id} has another amount` });
    expect(await verify({ ...real, items: [{ ...item, toAddress: '0x000000000000000000000000000000000000dEaD' }] })).toEqual({
      ok: false,
      reason: `withdrawal ${w.id} goes to another address`,
    });
    expect(await verify({ ...real, coinId: 'dev-evm:ETH' })).toMatchObject({ ok: false });
    expect(await verify({ ...real, merchantId: randomUUID() })).toEqual({ ok: false, reason: 'the batch belongs to another merchant' });
    expect(await verify({ ...real, batchId: randomUUID() })).toEqual({ ok: false, reason: 'no such batch' });
    expect(await verify({ ...real, items: [item, { withdrawalId: randomUUID(), toAddress: TO, amount: '1' }] })).toMatchObject({ ok: false });

    // Once the signer reported it sent, the batch may not be sent again.
    await withdrawal.bus.publish(
      'withdrawal.batch.updated',
      {
        batchId: real.batchId,
        merchantId: caller.merchantId,
        network: 'dev-evm',
        coinId: USDT,
        status: 'BROADCAST',
        txHash: `0x${'ab'.repeat(32)}`,
        fee: null,
        feeCoinId: null,
        reason: null,
        confirmations: 0,
      },
      { id: randomUUID(), key: real.batchId },
    );
    await eventually(async () => (await rows(caller.merchantId))[0]?.status === 'BROADCAST', 'the batch broadcast', 15_000);
    expect(await verify(real)).toEqual({ ok: false, reason: 'the batch is BROADCAST: it may not be sent' });
  });
});
