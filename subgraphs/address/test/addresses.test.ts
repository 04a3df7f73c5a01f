// AddressService on real Postgres with a scripted signer: what the gateway-level tests cannot
// arrange (an insert failing after an index was taken, a signer that times out once).
import { randomUUID } from 'node:crypto';
import type { Bus } from '@cpg/core/bus';
import { type MikroORM, openOrm } from '@cpg/core/db';
import type { MerchantIdentity } from '@cpg/core/graphql';
import { type TestEnv, createTestEnv } from '@cpg/devkit/testing';
import { SCHEMA, migrations } from '../migrations';
import { entities } from '../src/entities';
import { Catalogue } from '../src/domain/catalogue';
import { AddressService } from '../src/services/addresses';

// The account xpub (m/44'/60'/0') of anvil's public test mnemonic: its receive addresses are
// anvil's well-known accounts.
const ANVIL_XPUB = 'xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP';
const ANVIL_0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';
const ANVIL_1 = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
const HOT_ADDRESS = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC';

let env: TestEnv;
let orm: MikroORM;
const catalogue = new Catalogue({});

type Call = { name: string; req: Record<string, unknown> };
function scriptedSigner(answers: ((req: Record<string, unknown>) => unknown)[] = []) {
  const calls: Call[] = [];
  const bus = {
    request: async (name: string, req: Record<string, unknown>) => {
      calls.push({ name, req });
      const scripted = answers.shift();
      if (scripted) return scripted(req);
      if (name === 'signer.account_xpub') return { xpub: ANVIL_XPUB, path: "m/44'/60'/0'" };
      // Compliance stands in here as it answers a clean destination.
      if (name === 'compliance.screen') return { assessmentId: randomUUID(), decision: 'ALLOW', score: 0, level: 'LOW', reasons: [] };
      return { keyId: randomUUID(), address: HOT_ADDRESS.toLowerCase() };
    },
  } as unknown as Pick<Bus, 'request'>;
  return { bus, calls };
}

const merchant = (): MerchantIdentity => ({ kind: 'merchant', merchantId: randomUUID(), keyId: randomUUID(), scopes: ['READ', 'ADDRESSES_WRITE'] });
const service = (bus: Pick<Bus, 'request'>) => new AddressService(orm.em.fork(), catalogue, bus);
const sql = <T>(q: string, params: unknown[] = []) => orm.em.fork().execute<T[]>(q, params);
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => undefined,
    (err: { extensions?: { code?: string } }) => err.extensions?.code ?? 'internal',
  );

beforeAll(async () => {
  env = await createTestEnv();
  orm = await openOrm({ databaseUrl: env.databaseUrl, schema: SCHEMA, entities, migrations, log: env.log, poolMax: 4 });
});
// Every merchant here derives from one test xpub and the scripted signer hands out fixed
// addresses, so the same string comes back for many merchants: each test starts with no owners
// (in production every merchant has its own keys, and one owner per address holds).
beforeEach(async () => {
  await orm.em.fork().execute(`delete from "${SCHEMA}".address_owners`);
});
afterAll(async () => {
  await orm?.close();
  await env?.cleanup();
});

describe('USER addresses', () => {
  it('asks the signer for the account xpub once, then derives consecutive indexes', async () => {
    const m = merchant();
    const { bus, calls } = scriptedSigner();
    const a = await service(bus).createAddress(m, { networkId: 'dev-evm', coinId: 'dev-evm:ETH' });
    const b = await service(bus).createAddress(m, { networkId: 'dev-evm', coinId: 'dev-evm:USDT' });
    expect([a.address, a.derivationIndex, b.address, b.derivationIndex]).toEqual([ANVIL_0, 0, ANVIL_1, 1]);
    expect(calls.map((c) => c.name)).toEqual(['signer.account_xpub']);
    expect(calls[0]!.req).toEqual({ merchantId: m.merchantId, networkId: 'dev-evm' });
  });

  it('an insert that fails after taking an index gives the index back', async () => {
    const m = merchant();
    const { bus } = scriptedSigner();
    // The merchant's own index-0 address already stored as a cold wallet makes the USER insert fail.
    const cold = await service(bus).registerColdWallet(m, { networkId: 'dev-evm', address: ANVIL_0 });
    expect(await codeOf(service(bus).createAddress(m, { networkId: 'dev-evm', coinId: 'dev-evm:ETH' }))).toBe('internal');
    expect(await sql(`select next_index from "${SCHEMA}".derivation_counters where merchant_id = ?`, [m.merchantId])).toEqual([]);
    expect(await sql(`select type from "${SCHEMA}".outbox where payload->>'merchantId' = ? order by type`, [m.merchantId])).toEqual([
      { type: 'address.cold_wallet_updated' },
      { type: 'address.created' },
    ]);

    await sql(`delete from "${SCHEMA}".addresses where id = ?`, [cold.id]);
    const user = await service(bus).createAddress(m, { networkId: 'dev-evm', coinId: 'dev-evm:ETH' });
    expect([user.address, user.derivationIndex]).toEqual([ANVIL_0, 0]);
  });

  it('a signer that does not answer is UNAVAILABLE and leaves nothing behind', async () => {
    const m = merchant();
    const { bus } = scriptedSigner([
      () => {
        throw new Error('TIMEOUT');
      },
    ]);
    expect(await codeOf(service(bus).createAddress(m, { networkId: 'dev-evm', coinId: 'dev-evm:ETH' }))).toBe('UNAVAILABLE');
    expect(await sql(`select 1 from "${SCHEMA}".account_xpubs where merchant_id = ?`, [m.merchantId])).toEqual([]);
    expect(await sql(`select 1 from "${SCHEMA}".addresses where merchant_id = ?`, [m.merchantId])).toEqual([]);
  });

  it('an extended private key from the signer is refused, never cached', async () => {
    const m = merchant();
    const { bus } = scriptedSigner([() => ({ xpub: `xprv${ANVIL_XPUB.slice(4)}`, path: "m/44'/60'/0'" })]);
    expect(await codeOf(service(bus).createAddress(m, { networkId: 'dev-evm', coinId: 'dev-evm:ETH' }))).toBe('UNAVAILABLE');
    expect(await sql(`select 1 from "${SCHEMA}".account_xpubs where merchant_id = ?`, [m.merchantId])).toEqual([]);
  });
});

describe('HOT addresses', () => {
  it('a retry after a lost signer reply reuses the request id; the next address gets a new one', async () => {
    const m = merchant();
    const { bus, calls } = scriptedSigner([
      () => {
        throw new Error('TIMEOUT');
      },
    ]);
    expect(await codeOf(service(bus).createAddress(m, { networkId: 'dev-evm', type: 'HOT' }))).toBe('UNAVAILABLE');
    const hot = await service(bus).createAddress(m, { networkId: 'dev-evm', type: 'HOT' });
    expect(hot).toMatchObject({ type: 'HOT', address: HOT_ADDRESS, derivationIndex: null });
    expect(calls).toHaveLength(2);
    expect(calls[1]!.req).toEqual(calls[0]!.req);
    expect(calls[0]!.req).toMatchObject({ merchantId: m.merchantId, networkId: 'dev-evm', purpose: 'HOT' });
    expect(hot.keyRequestId).toBe(calls[0]!.req.requestId);

    const { bus: bus2, calls: calls2 } = scriptedSigner([() => ({ keyId: randomUUID(), address: ANVIL_1 })]);
    await service(bus2).createAddress(m, { networkId: 'dev-evm', type: 'HOT' });
    expect(calls2[0]!.req.requestId).not.toBe(calls[0]!.req.requestId);
  });
});
