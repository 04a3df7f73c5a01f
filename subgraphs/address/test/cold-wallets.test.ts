// One owner per address and the cold-wallet rules, on real Postgres: what the service does with
// each screening answer (compliance stands in through a scripted bus, as the signer does in
// addresses.test.ts), concurrent registrations of one address, and the database's own refusal of
// a second owner whatever path writes the row.
import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import type { Bus } from '@cpg/core/bus';
import { type MikroORM, openOrm } from '@cpg/core/db';
import type { MerchantIdentity } from '@cpg/core/graphql';
import { type TestEnv, createTestEnv } from '@cpg/devkit/testing';
import { SCHEMA, migrations } from '../migrations';
import { entities } from '../src/entities';
import { Catalogue } from '../src/domain/catalogue';
import { AddressService } from '../src/services/addresses';

const ANVIL_XPUB = 'xpub6Ce9NcJvTk36xtLSrJLZqE7wtgA5deCeYs7rSQtreh4cj6ByPtrg9sD7V2FNFLPnf8heNP3FGkeV9qwfzvZNSd54JoNXVsXFYSYwHsnJxqP';
const ANVIL_0 = '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266';

let env: TestEnv;
let orm: MikroORM;
const catalogue = new Catalogue({});

type Decision = 'ALLOW' | 'REVIEW' | 'BLOCK' | 'DOWN';
function busAnswering(decision: Decision, reasons: string[] = []) {
  const screened: Record<string, unknown>[] = [];
  const bus = {
    request: async (name: string, req: Record<string, unknown>) => {
      if (name === 'signer.account_xpub') return { xpub: ANVIL_XPUB, path: "m/44'/60'/0'" };
      if (name === 'compliance.screen') {
        screened.push(req);
        if (decision === 'DOWN') throw new Error('TIMEOUT');
        return { assessmentId: randomUUID(), decision, score: decision === 'ALLOW' ? 0 : 100, level: 'HIGH', reasons };
      }
      throw new Error(`unexpected ${name}`);
    },
  } as unknown as Pick<Bus, 'request'>;
  return { bus, screened };
}

const merchant = (): MerchantIdentity => ({ kind: 'merchant', merchantId: randomUUID(), keyId: randomUUID(), scopes: ['READ', 'WITHDRAWALS_WRITE'] });
const service = (bus: Pick<Bus, 'request'>, coolingOffHours = 24) =>
  new AddressService(orm.em.fork(), catalogue, bus, undefined, undefined, { coolingOffHours, screenTimeoutMs: 1000 });
const sql = <T>(q: string, params: unknown[] = []) => orm.em.fork().execute<T[]>(q, params);
const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (err: { extensions?: { code?: string }; message?: string }) => err.extensions?.code ?? `internal: ${err.message}`,
  );

beforeAll(async () => {
  env = await createTestEnv();
  orm = await openOrm({ databaseUrl: env.databaseUrl, schema: SCHEMA, entities, migrations, log: env.log, poolMax: 8 });
});
afterAll(async () => {
  await orm?.close();
  await env?.cleanup();
});

describe('one owner per address', () => {
  it("another merchant's deposit address cannot become anyone's cold wallet, in any spelling", async () => {
    const b = merchant();
    const { bus, screened } = busAnswering('ALLOW');
    const deposit = await service(bus).createAddress(b, { networkId: 'dev-evm', coinId: 'dev-evm:ETH' });
    expect(deposit.address).toBe(ANVIL_0);
    const a = merchant();
    for (const spelling of [ANVIL_0, ANVIL_0.toLowerCase()]) {
      expect(await codeOf(service(bus).registerColdWallet(a, { networkId: 'dev-evm', address: spelling }))).toBe('CONFLICT');
    }
    // Refused before screening: nothing asked, nothing stored for A.
    expect(screened).toEqual([]);
    expect(await sql(`select 1 from "${SCHEMA}".addresses where merchant_id = ?`, [a.merchantId])).toEqual([]);
    // The merchant itself cannot turn its own deposit address into a cold wallet either.
    expect(await codeOf(service(bus).registerColdWallet(b, { networkId: 'dev-evm', address: ANVIL_0 }))).toBe('CONFLICT');
  });

  it('ten merchants registering one address at once: one wins, nine CONFLICT', async () => {
    const { bus } = busAnswering('ALLOW');
    const address = Wallet.createRandom().address;
    const merchants = Array.from({ length: 10 }, merchant);
    const codes = await Promise.all(merchants.map((m) => codeOf(service(bus).registerColdWallet(m, { networkId: 'dev-evm', address }))));
    expect(codes.filter((c) => c === 'ok')).toHaveLength(1);
    expect(codes.filter((c) => c === 'CONFLICT')).toHaveLength(9);
    const rows = await sql<{ merchant_id: string }>(`select merchant_id from "${SCHEMA}".addresses where address = ?`, [address]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.merchant_id).toBe(merchants[codes.indexOf('ok')]!.merchantId);
  });

  it('the database refuses a second owner whatever writes the row (the family is the key: one EVM holder on every EVM network)', async () => {
    const { bus } = busAnswering('ALLOW');
    const a = merchant();
    const cold = await service(bus).registerColdWallet(a, { networkId: 'dev-evm', address: Wallet.createRandom().address });
    const insert = (merchantId: string, networkId: string) =>
      sql(
        `insert into "${SCHEMA}".addresses (id, merchant_id, network_id, family, address, type, mode, networks, coins, created_at, cold_status)
         values (?, ?, ?, 'EVM', ?, 'COLD', 'COMMON', ?::text[], '{}', now(), 'PENDING_REVIEW')`,
        [randomUUID(), merchantId, networkId, cold.address, `{${networkId}}`],
      );
    await expect(insert(randomUUID(), 'ethereum')).rejects.toThrow(/address already has an owner/);
    await expect(insert(randomUUID(), 'dev-evm')).rejects.toThrow(/address already has an owner/);
    // The owner itself may hold it on another EVM network.
    await expect(insert(a.merchantId, 'ethereum')).resolves.toBeDefined();
  });

  it('registering the same cold wallet again answers the same row', async () => {
    const { bus, screened } = busAnswering('ALLOW');
    const m = merchant();
    const address = Wallet.createRandom().address;
    const first = await service(bus).registerColdWallet(m, { networkId: 'dev-evm', address });
    const again = await service(bus).registerColdWallet(m, { networkId: 'dev-evm', address: address.toLowerCase() });
    expect(again.id).toBe(first.id);
    expect(screened).toHaveLength(1);
  });
});

describe('cold wallets are screened destinations with a cooling-off period', () => {
  it('ALLOW: stored COOLING_OFF, usable after the configured hours, announced', async () => {
    const { bus, screened } = busAnswering('ALLOW');
    const m = merchant();
    const before = Date.now();
    const cold = await service(bus, 2).registerColdWallet(m, { networkId: 'dev-evm', address: Wallet.createRandom().address });
    expect(cold.coldStatus).toBe('COOLING_OFF');
    expect(cold.usableFrom!.getTime() - before).toBeGreaterThanOrEqual(2 * 3_600_000);
    expect(cold.usableFrom!.getTime() - before).toBeLessThan(2 * 3_600_000 + 60_000);
    expect(screened).toEqual([
      expect.objectContaining({
        merchantId: m.merchantId,
        networkId: 'dev-evm',
        address: cold.address,
        direction: 'OUT',
        subjectRef: `cold_wallet:${cold.id}`,
      }),
    ]);
    const events = await sql<{ payload: Record<string, unknown> }>(
      `select payload from "${SCHEMA}".outbox where type = 'address.cold_wallet_updated' and payload->>'addressId' = ?`,
      [cold.id],
    );
    expect(events.map((e) => e.payload)).toEqual([
      expect.objectContaining({ event: 'registered', status: 'COOLING_OFF', usableFrom: cold.usableFrom!.toISOString(), merchantId: m.merchantId }),
    ]);
  });

  it('BLOCK: FORBIDDEN with the reasons, nothing stored or announced', async () => {
    const { bus } = busAnswering('BLOCK', ['sanctions list: OFAC SDN']);
    const m = merchant();
    const err = await service(bus)
      .registerColdWallet(m, { networkId: 'dev-evm', address: Wallet.createRandom().address })
      .catch((e: { extensions: Record<string, unknown>; message: string }) => e);
    expect(err).toMatchObject({ extensions: { code: 'FORBIDDEN', reasons: ['sanctions list: OFAC SDN'] } });
    expect(await sql(`select 1 from "${SCHEMA}".addresses where merchant_id = ?`, [m.merchantId])).toEqual([]);
    expect(await sql(`select 1 from "${SCHEMA}".outbox where payload->>'merchantId' = ?`, [m.merchantId])).toEqual([]);
  });

  it('compliance down: UNAVAILABLE, nothing stored', async () => {
    const { bus } = busAnswering('DOWN');
    const m = merchant();
    expect(await codeOf(service(bus).registerColdWallet(m, { networkId: 'dev-evm', address: Wallet.createRandom().address }))).toBe('UNAVAILABLE');
    expect(await sql(`select 1 from "${SCHEMA}".addresses where merchant_id = ?`, [m.merchantId])).toEqual([]);
  });

  it('REVIEW waits for the operator; approve makes it ACTIVE at once, reject is final', async () => {
    const { bus } = busAnswering('REVIEW', ['grey list: REVIEW']);
    const m = merchant();
    const cold = await service(bus).registerColdWallet(m, { networkId: 'dev-evm', address: Wallet.createRandom().address });
    expect([cold.coldStatus, cold.usableFrom]).toEqual(['PENDING_REVIEW', null]);
    const approved = await service(bus).decideColdWallet(cold.id, 'approve');
    expect(approved.coldStatus).toBe('ACTIVE');
    // Repeating changes nothing and announces nothing more.
    await service(bus).decideColdWallet(cold.id, 'approve');
    const rejected = await service(bus).decideColdWallet(cold.id, 'reject');
    expect(rejected.coldStatus).toBe('REJECTED');
    expect(await codeOf(service(bus).decideColdWallet(cold.id, 'approve'))).toBe('BAD_USER_INPUT');
    const events = await sql<{ event: string; status: string }>(
      `select payload->>'event' as event, payload->>'status' as status from "${SCHEMA}".outbox where type = 'address.cold_wallet_updated' and payload->>'addressId' = ? order by payload->>'at'`,
      [cold.id],
    );
    expect(events).toEqual([
      { event: 'registered', status: 'PENDING_REVIEW' },
      { event: 'approved', status: 'ACTIVE' },
      { event: 'rejected', status: 'REJECTED' },
    ]);
    expect(await codeOf(service(bus).decideColdWallet(randomUUID(), 'approve'))).toBe('NOT_FOUND');
    expect(await codeOf(service(bus).decideColdWallet('nope', 'approve'))).toBe('NOT_FOUND');
  });
});
