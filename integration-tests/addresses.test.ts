import { randomUUID } from 'node:crypto';
import { Bus, type EventData } from '@cpg/core/bus';
import { getNetwork } from '@cpg/chains';
import { codecFor } from '@cpg/chains/codecs';
import { withPg } from '@cpg/devkit/services';
import { eventually, gql } from '@cpg/devkit/testing';
import { Catalogue } from '@cpg/subgraph-address/src/domain/catalogue';
import { gatewayHeaders } from './support/signed-request';
import { type Stack, startStack } from './support/stack';

// Two EVM networks must be on for CROSS to mean anything: ethereum is switched on by giving it an
// RPC endpoint. Nothing here talks to it; addresses are derived, not fetched.
const ETHEREUM_RPC = 'http://127.0.0.1:9/';
const chainEnv = { CHAIN_RPC_ETHEREUM: ETHEREUM_RPC };

let stack: Stack;
let bus: Bus;
const announced = new Map<string, EventData<'address.created'>>();
const savedEnv = { CHAIN_RPC_ETHEREUM: process.env.CHAIN_RPC_ETHEREUM, CHAIN_RPC_BSC: process.env.CHAIN_RPC_BSC };

beforeAll(async () => {
  process.env.CHAIN_RPC_ETHEREUM = ETHEREUM_RPC;
  // bsc stands for a configured network that is off.
  delete process.env.CHAIN_RPC_BSC;
  stack = await startStack();
  bus = await Bus.connect({ url: stack.env.natsUrl, namespace: stack.env.namespace, name: 'addresses-test', log: stack.env.log });
  await bus.consume({
    durable: 'addresses-test',
    types: ['address.created'],
    retryBaseMs: 10,
    handler: async (event) => {
      announced.set(event.data.addressId, event.data);
    },
  });
});
afterAll(async () => {
  await bus?.close();
  await stack?.stop();
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;

const ADDRESS_FIELDS = 'id address type label createdAt network { id } coins { id }';
const CREATE = `mutation($input: CreateAddressInput!) { createAddress(input: $input) { ${ADDRESS_FIELDS} } }`;
const COLD = `mutation($input: RegisterColdWalletInput!) { registerColdWallet(input: $input) { ${ADDRESS_FIELDS} } }`;
const LIST = `query($filter: AddressFilter, $first: Int, $after: String) { addresses(filter: $filter, first: $first, after: $after) { nodes { ${ADDRESS_FIELDS} } pageInfo { hasNextPage endCursor } } }`;

interface AddressOut {
  id: string;
  address: string;
  type: string;
  label: string | null;
  network: { id: string };
  coins: { id: string }[];
}

async function create(secret: string, input: Record<string, unknown>): Promise<AddressOut> {
  const res = await gql(stack.url, CREATE, { input }, secret);
  if (!res.data) throw new Error(`createAddress failed: ${JSON.stringify(res.errors)}`);
  return res.data.createAddress;
}

async function setMode(secret: string, mode: 'SINGLE' | 'COMMON' | 'CROSS'): Promise<void> {
  const res = await gql(
    stack.url,
    'mutation($m: AddressMode!) { updateMerchantSettings(input: { addressMode: $m }) { settings { addressMode } } }',
    { m: mode },
    secret,
  );
  expect(res.data?.updateMerchantSettings.settings.addressMode).toBe(mode);
}

/** The mode reaches the address subgraph as an event; until then SINGLE (coinId required) applies. */
async function createOnceModeArrives(secret: string, input: Record<string, unknown>): Promise<AddressOut> {
  return eventually(
    async () => {
      const res = await gql(stack.url, CREATE, { input }, secret);
      if (res.data) return res.data.createAddress as AddressOut;
      expect(code(res)).toBe('BAD_USER_INPUT');
      return undefined;
    },
    'the address mode to reach the address subgraph',
    15_000,
    100,
  );
}

async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return withPg(stack.env.databaseUrl, async (c) => (await c.query(sql, params)).rows as T[]);
}

const coinIds = (a: AddressOut) => a.coins.map((c) => c.id).sort();

describe('addresses through the gateway', () => {
  it('USER addresses on dev-evm and dev-ltc are derived from the merchant account and valid per codec', async () => {
    const m = await stack.newMerchant();
    const evm = await create(m.secret, { networkId: 'dev-evm', coinId: 'dev-evm:ETH', label: ' till 1 ' });
    expect(evm).toMatchObject({ type: 'USER', label: 'till 1', network: { id: 'dev-evm' }, coins: [{ id: 'dev-evm:ETH' }] });
    const ltc = await create(m.secret, { networkId: 'dev-ltc', coinId: 'dev-ltc:LTC' });
    expect(ltc).toMatchObject({ type: 'USER', network: { id: 'dev-ltc' }, coins: [{ id: 'dev-ltc:LTC' }] });
    expect(ltc.address).toMatch(/^rltc1/);

    for (const a of [evm, ltc]) {
      const network = getNetwork(a.network.id, chainEnv);
      expect(codecFor(network.family).validateAddress(network, a.address)).toMatchObject({ valid: true, normalized: a.address });
      const v = await gql(
        stack.url,
        'query($n: ID!, $a: String!) { validateAddress(networkId: $n, address: $a) { valid } }',
        { n: a.network.id, a: a.address },
        m.secret,
      );
      expect(v.data.validateAddress.valid).toBe(true);
      // The address is the account xpub's first receive address: nothing but the signer's public key is involved.
      const { xpub } = await bus.request('signer.account_xpub', { merchantId: m.id, networkId: a.network.id }, 10_000);
      expect(codecFor(network.family).deriveAddress(network, xpub, 0).address).toBe(a.address);
    }
  });

  it('SINGLE without coinId is BAD_USER_INPUT and writes nothing; the next address still gets index 0', async () => {
    const m = await stack.newMerchant();
    const res = await gql(stack.url, CREATE, { input: { networkId: 'dev-evm' } }, m.secret);
    expect(code(res)).toBe('BAD_USER_INPUT');
    expect(res.errors![0]!.message).toContain('coinId');
    const wrongCoin = await gql(stack.url, CREATE, { input: { networkId: 'dev-evm', coinId: 'dev-ltc:LTC' } }, m.secret);
    expect(code(wrongCoin)).toBe('BAD_USER_INPUT');
    expect((await gql(stack.url, LIST, {}, m.secret)).data.addresses.nodes).toEqual([]);
    expect(await rows(`select 1 from address.addresses where merchant_id = $1`, [m.id])).toHaveLength(0);

    const a = await create(m.secret, { networkId: 'dev-evm', coinId: 'dev-evm:USDT' });
    expect(await rows(`select derivation_index from address.addresses where id = $1`, [a.id])).toEqual([{ derivation_index: 0 }]);
  });

  it('unknown and disabled networks are refused with a clear message', async () => {
    const m = await stack.newMerchant();
    const unknown = await gql(stack.url, CREATE, { input: { networkId: 'nope', coinId: 'nope:X' } }, m.secret);
    expect(code(unknown)).toBe('BAD_USER_INPUT');
    expect(unknown.errors![0]!.message).toContain('unknown network');
    const off = await gql(stack.url, CREATE, { input: { networkId: 'bsc', coinId: 'bsc:BNB' } }, m.secret);
    expect(code(off)).toBe('BAD_USER_INPUT');
    expect(off.errors![0]!.message).toContain('not enabled');
    const coldOff = await gql(stack.url, COLD, { input: { networkId: 'bsc', address: '0x52908400098527886e0f7030069857d2e4169ee7' } }, m.secret);
    expect(code(coldOff)).toBe('BAD_USER_INPUT');
  });

  it('a read-only key cannot create addresses', async () => {
    const m = await stack.newMerchant();
    const ro = (await gql(stack.url, 'mutation { createApiKey(input: { label: "ro", scopes: [READ] }) { secret } }', {}, m.secret)).data.createApiKey.secret;
    const res = await gql(stack.url, CREATE, { input: { networkId: 'dev-evm', coinId: 'dev-evm:ETH' } }, ro);
    expect(code(res)).toBe('FORBIDDEN');
    expect(res.errors![0]!.message).toContain('ADDRESSES_WRITE');
  });

  it('COMMON serves every coin of the network', async () => {
    const m = await stack.newMerchant();
    await setMode(m.secret, 'COMMON');
    const a = await createOnceModeArrives(m.secret, { networkId: 'dev-evm' });
    expect(coinIds(a)).toEqual(['dev-evm:ETH', 'dev-evm:USDT']);
  });

  it('CROSS gives one EVM address serving every enabled EVM network, from one shared counter', async () => {
    const m = await stack.newMerchant();
    await setMode(m.secret, 'CROSS');
    const first = await createOnceModeArrives(m.secret, { networkId: 'dev-evm' });
    expect(first.network.id).toBe('dev-evm');
    const everyEvmCoin = new Catalogue(process.env)
      .list()
      .filter((n) => n.family === 'EVM' && n.enabled)
      .flatMap((n) => n.coins.map((c) => c.id))
      .sort();
    expect(everyEvmCoin).toEqual(expect.arrayContaining(['dev-evm:ETH', 'dev-evm:USDT', 'ethereum:ETH', 'ethereum:USDC', 'ethereum:USDT']));
    expect(coinIds(first)).toEqual(everyEvmCoin);

    const second = await create(m.secret, { networkId: 'ethereum' });
    expect(second.network.id).toBe('ethereum');
    expect(coinIds(second)).toEqual(coinIds(first));
    // Allocated separately, so a second address, from the next index of the same counter.
    expect(second.address).not.toBe(first.address);
    const idx = await rows<{ id: string; derivation_index: number }>(
      `select id, derivation_index from address.addresses where merchant_id = $1 order by derivation_index`,
      [m.id],
    );
    expect(idx).toEqual([
      { id: first.id, derivation_index: 0 },
      { id: second.id, derivation_index: 1 },
    ]);
    // One key serves both chains: the first address derived for ethereum is the same string.
    const { xpub } = await bus.request('signer.account_xpub', { merchantId: m.id, networkId: 'ethereum' }, 10_000);
    expect(codecFor('EVM').deriveAddress(getNetwork('ethereum', chainEnv), xpub, 0).address).toBe(first.address);

    // CROSS on a Bitcoin-family network is COMMON.
    const ltc = await create(m.secret, { networkId: 'dev-ltc' });
    expect(coinIds(ltc)).toEqual(['dev-ltc:LTC']);

    const event = await eventually(async () => announced.get(first.id), 'address.created of the CROSS address');
    expect(event.networks).toEqual(expect.arrayContaining(['dev-evm', 'ethereum']));
    expect(event.coins.sort()).toEqual(coinIds(first));
  });

  it('20 concurrent creations get 20 distinct consecutive indexes and addresses', async () => {
    const m = await stack.newMerchant();
    const created = await Promise.all(Array.from({ length: 20 }, () => create(m.secret, { networkId: 'dev-evm', coinId: 'dev-evm:ETH' })));
    expect(new Set(created.map((a) => a.address)).size).toBe(20);
    expect(new Set(created.map((a) => a.id)).size).toBe(20);
    const idx = await rows<{ derivation_index: number }>(`select derivation_index from address.addresses where merchant_id = $1 order by derivation_index`, [
      m.id,
    ]);
    expect(idx.map((r) => r.derivation_index)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const [counter] = await rows<{ next_index: number }>(`select next_index from address.derivation_counters where merchant_id = $1`, [m.id]);
    expect(counter!.next_index).toBe(20);

    // Paging walks all 20 in creation order with opaque cursors, no repeats and no gaps.
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 10; page++) {
      const res: { data?: any } = await gql(stack.url, LIST, { first: 7, after, filter: { networkId: 'dev-evm', type: 'USER' } }, m.secret);
      const conn = res.data.addresses;
      seen.push(...conn.nodes.map((n: AddressOut) => n.id));
      if (!conn.pageInfo.hasNextPage) break;
      after = conn.pageInfo.endCursor;
    }
    expect(seen.sort()).toEqual(created.map((a) => a.id).sort());
    expect(code(await gql(stack.url, LIST, { after: 'garbage' }, m.secret))).toBe('BAD_USER_INPUT');
    expect((await gql(stack.url, LIST, { filter: { networkId: 'dev-ltc' } }, m.secret)).data.addresses.nodes).toEqual([]);

    // Every one of them reaches the tracker's side of the bus.
    await eventually(async () => created.every((a) => announced.get(a.id)?.address === a.address), 'address.created for all 20');
    expect(announced.get(created[0]!.id)).toMatchObject({ merchantId: m.id, type: 'USER', networks: ['dev-evm'], coins: ['dev-evm:ETH'] });
  });

  it('HOT and TOKENS_COLLECTOR keys are made by the signer; only their address comes back', async () => {
    const m = await stack.newMerchant();
    const hot = await create(m.secret, { networkId: 'dev-evm', type: 'HOT' });
    const collector = await create(m.secret, { networkId: 'dev-evm', type: 'TOKENS_COLLECTOR' });
    expect(hot).toMatchObject({ type: 'HOT', network: { id: 'dev-evm' } });
    expect(collector.type).toBe('TOKENS_COLLECTOR');
    expect(hot.address).not.toBe(collector.address);
    expect(coinIds(hot)).toEqual(['dev-evm:ETH', 'dev-evm:USDT']);
    const network = getNetwork('dev-evm', chainEnv);
    expect(codecFor('EVM').validateAddress(network, hot.address).valid).toBe(true);
    const [row] = await rows<{ key_request_id: string; signer_key_id: string; derivation_index: number | null }>(
      `select key_request_id, signer_key_id, derivation_index from address.addresses where id = $1`,
      [hot.id],
    );
    expect(row).toMatchObject({ derivation_index: null });
    expect(row!.signer_key_id).toBeTruthy();
    // The same request id gets the same key back from the signer, so a retry cannot mint a second key.
    const again = await bus.request('signer.create_key', { merchantId: m.id, networkId: 'dev-evm', purpose: 'HOT', requestId: row!.key_request_id }, 10_000);
    expect(again.address).toBe(hot.address);
    // One HOT wallet per merchant and network (the one withdrawals are paid from): asked again, the same address.
    const hotAgain = await create(m.secret, { networkId: 'dev-evm', type: 'HOT' });
    expect(hotAgain).toMatchObject({ id: hot.id, address: hot.address });
    expect(code(await gql(stack.url, CREATE, { input: { networkId: 'dev-ltc', type: 'TOKENS_COLLECTOR' } }, m.secret))).toBe('BAD_USER_INPUT');
    expect(code(await gql(stack.url, CREATE, { input: { networkId: 'dev-evm', type: 'COLD' } }, m.secret))).toBe('BAD_USER_INPUT');
  });

  it('registerColdWallet validates with the codec, normalises, is idempotent and keeps no key', async () => {
    const m = await stack.newMerchant();
    const bad = await gql(stack.url, COLD, { input: { networkId: 'dev-ltc', address: 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4' } }, m.secret);
    expect(code(bad)).toBe('BAD_USER_INPUT');
    const reason = codecFor('BITCOIN').validateAddress(getNetwork('dev-ltc', chainEnv), 'bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4').reason!;
    expect(reason).toBeTruthy();
    expect(bad.errors![0]!.message).toContain(reason);

    const lower = '0x52908400098527886e0f7030069857d2e4169ee7';
    const first = await gql(stack.url, COLD, { input: { networkId: 'dev-evm', address: lower, label: 'vault' } }, m.secret);
    expect(first.errors).toBeUndefined();
    const cold = first.data.registerColdWallet as AddressOut;
    expect(cold).toMatchObject({ type: 'COLD', address: '0x52908400098527886E0F7030069857D2E4169EE7', label: 'vault', network: { id: 'dev-evm' } });
    const second = await gql(stack.url, COLD, { input: { networkId: 'dev-evm', address: cold.address } }, m.secret);
    expect(second.data.registerColdWallet.id).toBe(cold.id);
    const stored = await rows(`select key_request_id, signer_key_id, derivation_index, account from address.addresses where merchant_id = $1`, [m.id]);
    expect(stored).toEqual([{ key_request_id: null, signer_key_id: null, derivation_index: null, account: null }]);
    await eventually(async () => announced.get(cold.id)?.type === 'COLD', 'address.created of the cold wallet');
  });

  it("a second merchant can neither list nor resolve the first's addresses; the operator can", async () => {
    const a = await stack.newMerchant('A');
    const b = await stack.newMerchant('B');
    const mine = await create(a.secret, { networkId: 'dev-evm', coinId: 'dev-evm:ETH' });
    expect((await gql(stack.url, LIST, {}, a.secret)).data.addresses.nodes.map((n: AddressOut) => n.id)).toEqual([mine.id]);
    expect((await gql(stack.url, LIST, {}, b.secret)).data.addresses.nodes).toEqual([]);

    const entities = `{ _entities(representations: [{ __typename: "Address", id: "${mine.id}" }]) { ... on Address { id address } } }`;
    const asMerchant = (merchantId: string, keyId: string) =>
      gql(
        stack.subgraphs.address.url,
        entities,
        {},
        undefined,
        gatewayHeaders(stack.env.gatewaySecret, 'address', { kind: 'merchant', merchantId, keyId, scopes: ['READ'] }, entities),
      );
    expect((await asMerchant(b.id, b.keyId)).data).toEqual({ _entities: [null] });
    expect((await asMerchant(a.id, a.keyId)).data).toEqual({ _entities: [{ id: mine.id, address: mine.address }] });
    const op = await gql(
      stack.subgraphs.address.url,
      entities,
      {},
      undefined,
      gatewayHeaders(stack.env.gatewaySecret, 'address', { kind: 'operator' }, entities),
    );
    expect(op.data).toEqual({ _entities: [{ id: mine.id, address: mine.address }] });
    expect((await stack.operator(LIST, { first: 200 })).data.addresses.nodes.map((n: AddressOut) => n.id)).toContain(mine.id);
  });
});

describe('network status from the tracker', () => {
  const STATUS = '{ networks { id status { available scannedHeight tipHeight lagBlocks updatedAt } } }';
  const statusOf = async (id: string) =>
    ((await gql(stack.url, STATUS)).data.networks as { id: string; status: Record<string, unknown> }[]).find((n) => n.id === id)!.status;

  it('shows the latest report, and nothing for a network not heard from within two minutes', async () => {
    const at = new Date().toISOString();
    await bus.publish(
      'chain.status',
      { network: 'dev-evm', available: true, scannedHeight: 120, tipHeight: 123, lagBlocks: 3, at },
      { id: randomUUID(), key: 'dev-evm' },
    );
    const old = new Date(Date.now() - 3 * 60_000).toISOString();
    await bus.publish(
      'chain.status',
      { network: 'dev-ltc', available: true, scannedHeight: 5, tipHeight: 5, lagBlocks: 0, at: old },
      { id: randomUUID(), key: 'dev-ltc' },
    );
    const evm = await eventually(async () => {
      const s = await statusOf('dev-evm');
      return s.available ? s : undefined;
    }, 'dev-evm status');
    expect(evm).toEqual({ available: true, scannedHeight: 120, tipHeight: 123, lagBlocks: 3, updatedAt: at });
    // A later report that the chain stopped answering replaces it.
    await bus.publish(
      'chain.status',
      {
        network: 'dev-evm',
        available: false,
        scannedHeight: 120,
        tipHeight: null,
        lagBlocks: null,
        at: new Date(Date.now() + 1).toISOString(),
        error: 'connect ECONNREFUSED',
      },
      { id: randomUUID(), key: 'dev-evm' },
    );
    await eventually(async () => (await statusOf('dev-evm')).tipHeight === null, 'dev-evm unavailable');
    expect(await statusOf('dev-evm')).toMatchObject({ available: false, scannedHeight: 120 });
    const nothing = { available: false, scannedHeight: null, tipHeight: null, lagBlocks: null, updatedAt: null };
    expect(await statusOf('dev-ltc')).toEqual(nothing);
    expect(await statusOf('bitcoin')).toEqual(nothing);
  });
});
