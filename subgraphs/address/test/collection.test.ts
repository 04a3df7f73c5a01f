// Collection policies, sweeps and wallet balances on real Postgres and a real anvil: validation
// codes, the outbox event, defaults, the sweep consumer's forward-only statuses and pagination,
// balances read from the chain and UNAVAILABLE for a node that does not answer.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { execute, parse } from 'graphql';
import { scalarResolvers } from '@cpg/core/graphql';
import { resolvers } from '../src/resolvers';
import { Wallet } from 'ethers';
import type { Bus } from '@cpg/core/bus';
import type { EventData } from '@cpg/core/bus';
import { type AnvilHandle, EvmDevControls, deployDevUsdt, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import { getNetwork } from '@cpg/chains';
import { type MikroORM, openOrm } from '@cpg/core/db';
import type { MerchantIdentity } from '@cpg/core/graphql';
import type { ServiceDeps } from '@cpg/core/http';
import { type TestEnv, createTestEnv } from '@cpg/devkit/testing';
import { SCHEMA, migrations } from '../migrations';
import { entities } from '../src/entities';
import { Catalogue } from '../src/domain/catalogue';
import { AddressService } from '../src/services/addresses';
import { CollectionService, type TransportFor } from '../src/services/collection';
import { startConsumers } from '../src/consumers';

// anvil's public test mnemonic account xpub (m/44'/60'/0'): USER index i is anvil account i.
const ANVIL_XPUB = 'xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP';

let env: TestEnv;
let orm: MikroORM;
let anvil: AnvilHandle;
let pool: RpcPool;
let catalogue: Catalogue;
const dead = createRpcPool([{ url: 'http://127.0.0.1:1' }], { maxAttempts: 1, timeoutMs: 1000 });
let transportFor: TransportFor;

const signerBus = {
  request: async (name: string) => {
    if (name === 'signer.account_xpub') return { xpub: ANVIL_XPUB, path: "m/44'/60'/0'" };
    // Compliance stands in here as it answers a clean destination.
    if (name === 'compliance.screen') return { assessmentId: randomUUID(), decision: 'ALLOW', score: 0, level: 'LOW', reasons: [] };
    return { keyId: randomUUID(), address: Wallet.createRandom().address };
  },
} as unknown as Pick<Bus, 'request'>;

const merchant = (): MerchantIdentity => ({ kind: 'merchant', merchantId: randomUUID(), keyId: randomUUID(), scopes: ['READ', 'ADDRESSES_WRITE'] });
const addresses = () => new AddressService(orm.em.fork(), catalogue, signerBus);
const collection = () => new CollectionService(orm.em.fork(), catalogue, transportFor);
const sql = <T>(q: string, params: unknown[] = []) => orm.em.fork().execute<T[]>(q, params);
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: { extensions?: { code?: string }; message?: string }) => err.extensions?.code ?? `internal: ${err.message}`,
  );

beforeAll(async () => {
  env = await createTestEnv();
  orm = await openOrm({ databaseUrl: env.databaseUrl, schema: SCHEMA, entities, migrations, log: env.log, poolMax: 4 });
  anvil = await startAnvil({ port: 0 });
  await deployDevUsdt(anvil.rpcUrl);
  catalogue = new Catalogue({ DEV_EVM_RPC_URL: anvil.rpcUrl });
  pool = createRpcPool(catalogue.network('dev-evm')!.rpc);
  transportFor = (n) => (n.id === 'dev-evm' ? pool : dead);
});
// Every merchant here derives from one test xpub and the scripted signer hands out fixed
// addresses, so the same string comes back for many merchants: each test starts with no owners
// (in production every merchant has its own keys, and one owner per address holds).
beforeEach(async () => {
  await orm.em.fork().execute(`delete from "${SCHEMA}".address_owners`);
});
afterAll(async () => {
  await orm?.close();
  await anvil?.stop();
  await env?.cleanup();
});

describe('setCollectionPolicy', () => {
  it('stores the policy in base units and publishes collection.policy_updated in the same transaction', async () => {
    const m = merchant();
    const cold = await addresses().registerColdWallet(m, { networkId: 'dev-evm', address: Wallet.createRandom().address });
    const view = await collection().setPolicy(m, {
      coinId: 'dev-evm:USDT',
      collectThreshold: '5',
      hotTarget: '100.5',
      coldWalletId: cold.id,
      maxFeeRatio: '0.0100',
    });
    expect(view).toMatchObject({ collectThreshold: '5', hotTarget: '100.5', maxFeeRatio: '0.01', coldWallet: { id: cold.id } });
    expect(view.coin.coin.id).toBe('dev-evm:USDT');
    const [row] = await sql<Record<string, unknown>>(
      `select collect_threshold::text, hot_target::text, cold_wallet_id, max_fee_ratio from "${SCHEMA}".collection_policies where merchant_id = ?`,
      [m.merchantId],
    );
    expect(row).toEqual({ collect_threshold: '5000000', hot_target: '100500000', cold_wallet_id: cold.id, max_fee_ratio: '0.01' });
    const events = await sql<{ type: string; subject: string; payload: EventData<'collection.policy_updated'> }>(
      `select type, subject, payload from "${SCHEMA}".outbox where type = 'collection.policy_updated' and payload->>'merchantId' = ?`,
      [m.merchantId],
    );
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({
      merchantId: m.merchantId,
      networkId: 'dev-evm',
      coinId: 'dev-evm:USDT',
      collectThreshold: '5000000',
      hotTarget: '100500000',
      coldWalletId: cold.id,
      coldWalletAddress: cold.address,
      maxFeeRatio: '0.01',
    });

    // A second call replaces the policy (no cold wallet, default ratio: a dev network's 0.5) and publishes again.
    const again = await collection().setPolicy(m, { coinId: 'dev-evm:USDT', collectThreshold: '1', hotTarget: '0' });
    expect(again).toMatchObject({ collectThreshold: '1', hotTarget: '0', coldWallet: null, maxFeeRatio: '0.5' });
    expect(await sql(`select 1 from "${SCHEMA}".outbox where type = 'collection.policy_updated' and payload->>'merchantId' = ?`, [m.merchantId])).toHaveLength(
      2,
    );
  });

  it('refuses bad input with BAD_USER_INPUT or NOT_FOUND and changes nothing', async () => {
    const m = merchant();
    const other = merchant();
    const othersCold = await addresses().registerColdWallet(other, { networkId: 'dev-evm', address: Wallet.createRandom().address });
    const hot = await addresses().createAddress(m, { networkId: 'dev-evm', type: 'HOT' });
    const ltcCold = await addresses().registerColdWallet(m, { networkId: 'dev-ltc', address: 'rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8k' });
    const ok = { coinId: 'dev-evm:USDT', collectThreshold: '5', hotTarget: '10' };
    const cases: [Record<string, unknown>, string][] = [
      [{ coinId: 'nope:XYZ' }, 'BAD_USER_INPUT'],
      [{ coinId: 'ethereum:USDT' }, 'BAD_USER_INPUT'], // mainnet not enabled here
      [{ collectThreshold: '0' }, 'BAD_USER_INPUT'],
      [{ collectThreshold: '1.0000001' }, 'BAD_USER_INPUT'], // USDT has 6 decimals
      [{ collectThreshold: '-1' }, 'BAD_USER_INPUT'],
      [{ hotTarget: '1e3' }, 'BAD_USER_INPUT'],
      [{ maxFeeRatio: '0' }, 'BAD_USER_INPUT'],
      [{ maxFeeRatio: '1' }, 'BAD_USER_INPUT'],
      [{ maxFeeRatio: '1.5' }, 'BAD_USER_INPUT'],
      [{ maxFeeRatio: '-0.1' }, 'BAD_USER_INPUT'],
      [{ maxFeeRatio: 'abc' }, 'BAD_USER_INPUT'],
      [{ maxFeeRatio: '0.0000001' }, 'BAD_USER_INPUT'],
      [{ coldWalletId: randomUUID() }, 'NOT_FOUND'],
      [{ coldWalletId: 'not-a-uuid' }, 'NOT_FOUND'],
      [{ coldWalletId: othersCold.id }, 'NOT_FOUND'],
      [{ coldWalletId: hot.id }, 'BAD_USER_INPUT'],
      [{ coldWalletId: ltcCold.id }, 'BAD_USER_INPUT'], // a cold wallet of another network
    ];
    for (const [patch, code] of cases) {
      expect([patch, await codeOf(collection().setPolicy(m, { ...ok, ...patch } as never))]).toEqual([patch, code]);
    }
    expect(await sql(`select 1 from "${SCHEMA}".collection_policies where merchant_id = ?`, [m.merchantId])).toEqual([]);
    expect(await sql(`select 1 from "${SCHEMA}".outbox where type = 'collection.policy_updated' and payload->>'merchantId' = ?`, [m.merchantId])).toEqual([]);
  });
});

describe('collectionPolicies', () => {
  it('lists every coin of the enabled networks: stored policies, defaults for the rest', async () => {
    const m = merchant();
    await collection().setPolicy(m, { coinId: 'dev-evm:ETH', collectThreshold: '0.5', hotTarget: '2', maxFeeRatio: '0.05' });
    const list = await collection().listPolicies(m.merchantId);
    const byCoin = Object.fromEntries(list.map((p) => [p.coin.coin.id, { t: p.collectThreshold, h: p.hotTarget, r: p.maxFeeRatio, c: p.coldWallet }]));
    expect(byCoin['dev-evm:ETH']).toEqual({ t: '0.5', h: '2', r: '0.05', c: null });
    // Dev networks' defaults: threshold 1 x minDeposit, hot target 1,000,000 x minDeposit, 50% fee cap
    // (mainnets: 10 x minDeposit and 2%, see defaultPolicy).
    expect(byCoin['dev-evm:USDT']).toEqual({ t: '0.01', h: '10000', r: '0.5', c: null });
    expect(byCoin['dev-ltc:LTC']).toEqual({ t: '0.0001', h: '100', r: '0.5', c: null });
    expect(byCoin['ethereum:USDT']).toBeUndefined();
    // Another merchant sees only defaults.
    const other = await collection().listPolicies(merchant().merchantId);
    expect(other.find((p) => p.coin.coin.id === 'dev-evm:ETH')).toMatchObject({ collectThreshold: '0.0001', hotTarget: '100' });
  });
});

describe('sweeps', () => {
  type Handler = (event: { id: string; type: string; occurredAt: string; data: unknown }) => Promise<void>;
  const handlers = new Map<string, Handler>();
  beforeAll(async () => {
    const bus = {
      consume: async (opts: { durable: string; handler: Handler }) => {
        handlers.set(opts.durable, opts.handler);
        return { stop: async () => undefined };
      },
    };
    await startConsumers({ bus, orm } as unknown as ServiceDeps);
  });
  const deliver = (data: EventData<'collection.sweep_updated'>) =>
    handlers.get('address-sweeps')!({ id: randomUUID(), type: 'collection.sweep_updated', occurredAt: new Date().toISOString(), data });

  it('keeps the furthest status of each step and pages newest first', async () => {
    const m = merchant();
    const planId = randomUUID();
    const ids = [0, 1, 2, 3].map(() => randomUUID());
    const step = (i: number, patch: Partial<EventData<'collection.sweep_updated'>> = {}): EventData<'collection.sweep_updated'> => ({
      sweepId: ids[i]!,
      planId,
      merchantId: m.merchantId,
      network: 'dev-evm',
      coinId: 'dev-evm:USDT',
      kind: 'sweep',
      fromAddresses: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8'],
      toAddress: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
      amount: '12500000',
      fee: null,
      feeCoinId: 'dev-evm:ETH',
      txHash: null,
      status: 'PLANNED',
      createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      ...patch,
    });
    await deliver(step(1, { kind: 'gas_topup', coinId: 'dev-evm:ETH', amount: '1000000000000000' }));
    await deliver(step(2));
    await deliver(step(3, { kind: 'cold_forward' }));
    await deliver(step(2, { status: 'CONFIRMED', txHash: '0xabc', fee: '21000000000000' }));
    // A late BROADCAST (redelivered out of order) does not move the step back.
    await deliver(step(2, { status: 'BROADCAST', txHash: '0xabc' }));
    await deliver(step(2, { status: 'PLANNED' }));

    const first = await collection().listSweeps(m.merchantId, 2, null);
    expect(first.nodes.map((n) => [n.kind, n.status])).toEqual([
      ['cold_forward', 'PLANNED'],
      ['sweep', 'CONFIRMED'],
    ]);
    expect(first.nodes[1]).toMatchObject({ amount: '12.5', fee: '0.000021', txHash: '0xabc', toAddress: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' });
    expect(first.nodes[1]!.fromAddresses).toEqual(['0x70997970C51812dc3A010C7d01b50e0d17dc79C8']);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = await collection().listSweeps(m.merchantId, 2, first.pageInfo.endCursor);
    expect(second.nodes.map((n) => [n.kind, n.amount])).toEqual([['gas_topup', '0.001']]);
    expect(second.pageInfo.hasNextPage).toBe(false);
    expect((await collection().listSweeps(merchant().merchantId, 10, null)).nodes).toEqual([]);
    expect(await codeOf(collection().listSweeps(m.merchantId, 0, null))).toBe('BAD_USER_INPUT');
    expect(await codeOf(collection().listSweeps(m.merchantId, 10, 'garbage!'))).toBe('BAD_USER_INPUT');
  });
});

describe('walletBalances', () => {
  it("reads the merchant's USER, HOT and COLD balances per coin from the chain", async () => {
    const m = merchant();
    const network = getNetwork('dev-evm', { DEV_EVM_RPC_URL: anvil.rpcUrl });
    const controls = new EvmDevControls(network, pool);
    // USER index 5 upward would be anvil accounts with 10000 ETH: take fresh random ones instead
    // by moving the merchant's counter past the funded accounts.
    await sql(`insert into "${SCHEMA}".derivation_counters (merchant_id, account, next_index) values (?, 'EVM/60', 20)`, [m.merchantId]);
    const user = await addresses().createAddress(m, { networkId: 'dev-evm', coinId: 'dev-evm:USDT' });
    const hot = await addresses().createAddress(m, { networkId: 'dev-evm', type: 'HOT' });
    const cold = await addresses().registerColdWallet(m, { networkId: 'dev-evm', address: Wallet.createRandom().address });
    await controls.fund(user.address, 'dev-evm:USDT', 12_500_000n);
    await controls.fund(hot.address, 'dev-evm:ETH', 10n ** 17n);
    await controls.fund(cold.address, 'dev-evm:USDT', 1_000_000n);
    const ethOfUser = BigInt(await pool.call<string>('eth_getBalance', [user.address, 'latest']));

    const rows = await collection().walletBalances(m.merchantId, 'dev-evm');
    const seen = rows.map((r) => [r.address.type, r.coin.coin.id, r.onChain]);
    expect(seen).toEqual(
      expect.arrayContaining([
        ['USER', 'dev-evm:USDT', '12.5'],
        ['HOT', 'dev-evm:ETH', '0.1'],
        ['COLD', 'dev-evm:USDT', '1'],
        ['COLD', 'dev-evm:ETH', '0'],
      ]),
    );
    // The USER address serves USDT only (SINGLE mode): no ETH row for it.
    expect(seen.filter(([t]) => t === 'USER')).toEqual([['USER', 'dev-evm:USDT', '12.5']]);
    expect(ethOfUser).toBe(0n);
    expect(rows[0]!.address.type).toBe('USER');
    expect(rows.every((r) => r.address.merchantId === m.merchantId)).toBe(true);
  });

  it('is UNAVAILABLE when the network does not answer, BAD_USER_INPUT for an unknown network', async () => {
    const m = merchant();
    await addresses().registerColdWallet(m, { networkId: 'dev-ltc', address: 'rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8k' });
    // dev-ltc goes to the dead transport in this test.
    expect(await codeOf(collection().walletBalances(m.merchantId, 'dev-ltc'))).toBe('UNAVAILABLE');
    expect(await codeOf(collection().walletBalances(m.merchantId, 'nope'))).toBe('BAD_USER_INPUT');
    expect(await codeOf(collection().walletBalances(m.merchantId, 'ethereum'))).toBe('UNAVAILABLE');
    expect(await collection().walletBalances(merchant().merchantId, 'dev-evm')).toEqual([]);
  });
});

describe('through the subgraph schema', () => {
  const schema = buildSubgraphSchema([
    {
      typeDefs: parse(readFileSync(path.join(__dirname, '..', 'schema.graphql'), 'utf8')),
      resolvers: { ...scalarResolvers, ...resolvers } as unknown as GraphQLResolverMap<unknown>,
    },
  ]);
  const run = (source: string, identity: MerchantIdentity) =>
    execute({
      schema,
      document: parse(source),
      contextValue: { identity, requestId: 'x', log: env.log, catalogue, addresses: addresses(), collection: collection() },
    });

  it('setCollectionPolicy, collectionPolicies and walletBalances resolve their types; errors carry stable codes', async () => {
    const m: MerchantIdentity = { ...merchant(), scopes: ['READ', 'ADDRESSES_WRITE', 'WITHDRAWALS_WRITE'] };
    const cold = await addresses().registerColdWallet(m, { networkId: 'dev-evm', address: Wallet.createRandom().address });
    // Pointing a policy at a cold wallet sends funds out of the hot side: ADDRESSES_WRITE alone is not enough.
    const addressesOnly = await run(
      `mutation { setCollectionPolicy(input: { coinId: "dev-evm:USDT", collectThreshold: "2.5", hotTarget: "0", coldWalletId: "${cold.id}" }) { hotTarget } }`,
      { ...m, scopes: ['READ', 'ADDRESSES_WRITE'] },
    );
    expect(addressesOnly.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const set = await run(
      `mutation { setCollectionPolicy(input: { coinId: "dev-evm:USDT", collectThreshold: "2.5", hotTarget: "50", coldWalletId: "${cold.id}", maxFeeRatio: "0.03" }) {
        coin { id decimals } collectThreshold hotTarget maxFeeRatio coldWallet { id address type network { id } } } }`,
      m,
    );
    expect(set.errors).toBeUndefined();
    expect(set.data).toEqual({
      setCollectionPolicy: {
        coin: { id: 'dev-evm:USDT', decimals: 6 },
        collectThreshold: '2.5',
        hotTarget: '50',
        maxFeeRatio: '0.03',
        coldWallet: { id: cold.id, address: cold.address, type: 'COLD', network: { id: 'dev-evm' } },
      },
    });
    const list = await run(
      '{ collectionPolicies { coin { id } collectThreshold coldWallet { id } } walletBalances(networkId: "dev-evm") { address { type } coin { id } onChain } }',
      m,
    );
    expect(list.errors).toBeUndefined();
    expect((list.data!.collectionPolicies as unknown[]).length).toBeGreaterThanOrEqual(3);
    expect(list.data!.collectionPolicies).toContainEqual({ coin: { id: 'dev-evm:USDT' }, collectThreshold: '2.5', coldWallet: { id: cold.id } });
    expect(list.data!.walletBalances).toContainEqual({ address: { type: 'COLD' }, coin: { id: 'dev-evm:USDT' }, onChain: '0' });

    const bad = await run(
      'mutation { setCollectionPolicy(input: { coinId: "dev-evm:USDT", collectThreshold: "1", hotTarget: "1", maxFeeRatio: "2" }) { maxFeeRatio } }',
      m,
    );
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    const readOnly = { ...m, scopes: ['READ'] } as MerchantIdentity;
    const forbidden = await run(
      'mutation { setCollectionPolicy(input: { coinId: "dev-evm:USDT", collectThreshold: "1", hotTarget: "1" }) { maxFeeRatio } }',
      readOnly,
    );
    expect(forbidden.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
