// The ledger against real Postgres: idempotency and row locks under concurrency, reversals,
// pagination, reconciliation, and the database's own refusal of unbalanced books.
import { type MikroORM, applyOnce, openOrm } from '@cpg/core/db';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { execute, parse } from 'graphql';
import { AppError, scalarResolvers } from '@cpg/core/graphql';
import { createLogger } from '@cpg/core/logger';
import { withPg } from '@cpg/devkit/services';
import { type TestEnv, createTestEnv } from '@cpg/devkit/testing';
import { SCHEMA, migrations } from '../migrations';
import { entities } from '../src/entities';
import { LedgerService } from '../src/ledger/ledger-service';
import { depositConfirmed, depositReorgedAfterCredit, depositReorgedBeforeCredit, depositSeen, unsolicitedCredit } from '../src/ledger/deposit-postings';
import { holdForWithdrawal, releaseHold, settleHold } from '../src/ledger/withdrawal-postings';
import { MerchantService } from '../src/services/merchants';
import { resolvers } from '../src/resolvers';
import { typeDefs } from '../src/server';

const USDT = 'dev-evm:USDT';
const ETH = 'dev-evm:ETH';

let env: TestEnv;
let orm: MikroORM;
let ledger: LedgerService;

async function newMerchant(name: string): Promise<string> {
  const { merchant } = await new MerchantService(orm.em.fork()).createMerchant(name);
  return merchant.id;
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return err instanceof AppError ? err.code : `not an AppError: ${(err as Error).message}`;
  }
}

const deposit = (index: number, txHash = '0xfeed') => ({ network: 'dev-evm', txHash, index });

async function balanceOf(merchantId: string, coinId: string) {
  return (await ledger.balances(merchantId)).find((b) => b.coinId === coinId);
}

beforeAll(async () => {
  env = await createTestEnv();
  orm = await openOrm({ databaseUrl: env.databaseUrl, schema: SCHEMA, entities, migrations, log: env.log, poolMax: 20 });
  ledger = new LedgerService(orm.em.fork());
});

afterAll(async () => {
  await orm?.close(true);
  await env?.cleanup();
});

describe('ledger', () => {
  it('credits a confirmed deposit exactly once under 20 concurrent identical posts', async () => {
    const m = await newMerchant('once');
    const input = { merchantId: m, coinId: USDT, deposit: deposit(0), amount: 1_500_000n };
    await ledger.post(depositSeen(input));
    const results = await Promise.all(Array.from({ length: 20 }, () => ledger.post(depositConfirmed({ ...input, wasSeen: true }))));
    expect(new Set(results.map((r) => r.transactionId)).size).toBe(1);
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
    for (const r of results) expect(r.entries.map((e) => e.id)).toEqual(results[0]!.entries.map((e) => e.id));
    expect(await balanceOf(m, USDT)).toEqual({ coinId: USDT, pending: 0n, available: 1_500_000n, held: 0n, debt: 0n, custody: 0n });
    const [{ n }] = await orm.em.execute<{ n: string }[]>(`select count(*)::text as n from "${SCHEMA}".ledger_transactions where reference = ?`, [
      'deposit:dev-evm:0xfeed:0',
    ]);
    expect(n).toBe('2');
    // The same transfer cannot be credited a second time as unsolicited: one key per credit.
    expect(await codeOf(ledger.post(unsolicitedCredit({ ...input, wasSeen: false })))).toBe('CONFLICT');
    expect((await ledger.reconcile(m, USDT)).matches).toBe(true);
  });

  it('a reorg before credit returns pending; after credit it reverses available and books what is gone as debt', async () => {
    const m = await newMerchant('reorg');
    const a = { merchantId: m, coinId: USDT, deposit: deposit(1), amount: 400n };
    await ledger.post(depositSeen(a));
    expect((await balanceOf(m, USDT))!.pending).toBe(400n);
    await ledger.post(depositReorgedBeforeCredit(a));
    expect(await balanceOf(m, USDT)).toMatchObject({ pending: 0n, available: 0n });

    const b = { merchantId: m, coinId: USDT, deposit: deposit(2), amount: 1000n };
    await ledger.post(depositConfirmed({ ...b, wasSeen: false }));
    await ledger.post(holdForWithdrawal({ merchantId: m, coinId: USDT, withdrawalId: 'w-reorg', amount: 700n }));
    const reversal = await ledger.post(depositReorgedAfterCredit(b));
    expect(reversal.kind).toBe('deposit_reversed');
    expect(reversal.entries.map((e) => [e.account.kind, e.amount, e.balanceAfter])).toEqual([
      ['available', -300n, 0n],
      ['debt', -700n, -700n],
      ['external_chain', 1000n, 0n],
    ]);
    expect(await balanceOf(m, USDT)).toEqual({ coinId: USDT, pending: 0n, available: 0n, held: 700n, debt: -700n, custody: 0n });
    // Posting the reversal again changes nothing.
    expect((await ledger.post(depositReorgedAfterCredit(b))).replayed).toBe(true);
    // The withdrawal settles from the hold; the next credit repays the debt before anything is spendable.
    await ledger.post(settleHold({ merchantId: m, coinId: USDT, withdrawalId: 'w-reorg', held: 700n, sent: 690n, fee: 10n }));
    await ledger.post(depositConfirmed({ merchantId: m, coinId: USDT, deposit: deposit(3), amount: 1000n, wasSeen: false }));
    expect(await balanceOf(m, USDT)).toEqual({ coinId: USDT, pending: 0n, available: 300n, held: 0n, debt: 0n, custody: 0n });
    expect((await ledger.reconcile(m, USDT)).matches).toBe(true);
  });

  it('50 concurrent holds against a balance covering 10: exactly 10 succeed, none overdraws', async () => {
    const m = await newMerchant('holds');
    await ledger.post(depositConfirmed({ merchantId: m, coinId: USDT, deposit: deposit(10), amount: 1000n, wasSeen: false }));
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => codeOf(ledger.post(holdForWithdrawal({ merchantId: m, coinId: USDT, withdrawalId: `w-${i}`, amount: 100n })))),
    );
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'INSUFFICIENT_FUNDS')).toHaveLength(40);
    expect(await balanceOf(m, USDT)).toEqual({ coinId: USDT, pending: 0n, available: 0n, held: 1000n, debt: 0n, custody: 0n });
    const report = await ledger.reconcile(m, USDT);
    expect(report.matches).toBe(true);
    // A refused hold left nothing behind, so the same withdrawal can be held once funds arrive.
    const refused = outcomes.indexOf('INSUFFICIENT_FUNDS');
    const held = outcomes.indexOf('ok');
    await ledger.post(releaseHold({ merchantId: m, coinId: USDT, withdrawalId: `w-${held}`, held: 100n }));
    expect(await codeOf(ledger.post(holdForWithdrawal({ merchantId: m, coinId: USDT, withdrawalId: `w-${refused}`, amount: 100n })))).toBe('ok');
    // Release and settle share one key: a released withdrawal cannot also settle.
    expect(await codeOf(ledger.post(settleHold({ merchantId: m, coinId: USDT, withdrawalId: `w-${held}`, held: 100n, sent: 100n, fee: 0n })))).toBe('CONFLICT');
  });

  it('pages history newest first, stably while new entries arrive, filtered by coin', async () => {
    const m = await newMerchant('history');
    for (let i = 0; i < 7; i++) {
      await ledger.post(depositConfirmed({ merchantId: m, coinId: i % 2 ? ETH : USDT, deposit: deposit(100 + i), amount: BigInt(10 + i), wasSeen: false }));
    }
    const all = await ledger.history(m, { first: 200 });
    expect(all.entries).toHaveLength(7);
    expect(all.hasNextPage).toBe(false);
    const ids = all.entries.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : 1))).toEqual(ids);
    expect(all.entries[0]).toMatchObject({
      coinId: USDT,
      accountKind: 'available',
      amount: 16n,
      balanceAfter: 10n + 12n + 14n + 16n,
      kind: 'deposit_confirmed',
    });

    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page = await ledger.history(m, { first: 3, after });
      seen.push(...page.entries.map((e) => e.id));
      // Entries posted mid-way are newer than the cursor, so they never show up on later pages.
      if (pages === 0) await ledger.post(depositConfirmed({ merchantId: m, coinId: USDT, deposit: deposit(199), amount: 1n, wasSeen: false }));
      after = page.hasNextPage ? page.endCursor : null;
      pages++;
    } while (after);
    expect(seen).toEqual(all.entries.map((e) => e.id));
    expect(pages).toBe(3);

    const eth = await ledger.history(m, { coinId: ETH });
    expect(eth.entries.map((e) => e.amount)).toEqual([15n, 13n, 11n]);
    expect(await codeOf(ledger.history(m, { after: 'not-a-cursor' }))).toBe('BAD_USER_INPUT');
    expect(await codeOf(ledger.history(m, { first: 0 }))).toBe('BAD_USER_INPUT');
    // Another merchant sees none of it.
    expect((await ledger.history(await newMerchant('other'), {})).entries).toEqual([]);
  });

  it('reconcile matches after mixed activity and catches a balance that drifted from its entries', async () => {
    const m = await newMerchant('reconcile');
    await ledger.post(depositSeen({ merchantId: m, coinId: ETH, deposit: deposit(300), amount: 5_000n }));
    await ledger.post(depositConfirmed({ merchantId: m, coinId: ETH, deposit: deposit(300), amount: 5_000n, wasSeen: true }));
    await ledger.post(holdForWithdrawal({ merchantId: m, coinId: ETH, withdrawalId: 'w-r', amount: 2_000n }));
    await ledger.post(settleHold({ merchantId: m, coinId: ETH, withdrawalId: 'w-r', held: 2_000n, sent: 1_500n, fee: 100n }));
    const report = await ledger.reconcile(m, ETH);
    expect(report.matches).toBe(true);
    const sums = Object.fromEntries(report.accounts.map((a) => [a.kind, a.stored]));
    expect(sums).toEqual({ pending: 0n, available: 3_400n, held: 0n, debt: 0n, external_chain: -3_500n, external_fees: 100n });
    expect(Object.values(sums).reduce((s, v) => s + v, 0n)).toBe(0n);

    await orm.em.execute(`update "${SCHEMA}".ledger_accounts set balance = balance + 1 where merchant_id = ? and coin_id = ? and kind = 'available'`, [m, ETH]);
    const drifted = await ledger.reconcile(m, ETH);
    expect(drifted.matches).toBe(false);
    expect(drifted.accounts.find((a) => !a.matches)).toMatchObject({ kind: 'available', stored: 3_401n, entriesSum: 3_400n });
  });

  it('the database refuses an unbalanced transaction, a negative balance, and edits to entries', async () => {
    const m = await newMerchant('raw');
    await ledger.post(depositConfirmed({ merchantId: m, coinId: USDT, deposit: deposit(400), amount: 50n, wasSeen: false }));
    const [acct] = await orm.em.execute<{ id: string }[]>(
      `select id::text as id from "${SCHEMA}".ledger_accounts where merchant_id = ? and coin_id = ? and kind = 'available'`,
      [m, USDT],
    );
    const unbalanced = withPg(env.databaseUrl, async (c) => {
      await c.query('begin');
      const { rows } = await c.query<{ id: string }>(
        `insert into "${SCHEMA}".ledger_transactions (idempotency_key, fingerprint, kind, reference) values ('raw-1', 'x', 'manual', 'raw') returning id`,
      );
      await c.query(`insert into "${SCHEMA}".ledger_entries (transaction_id, account_id, amount, balance_after) values ($1, $2, 5, 55)`, [
        rows[0]!.id,
        acct!.id,
      ]);
      await c.query('commit');
    });
    await expect(unbalanced).rejects.toThrow(/does not balance/);
    const [{ n }] = await orm.em.execute<{ n: string }[]>(`select count(*)::text as n from "${SCHEMA}".ledger_transactions where idempotency_key = 'raw-1'`);
    expect(n).toBe('0');

    await expect(orm.em.execute(`update "${SCHEMA}".ledger_accounts set balance = -1 where id = ?`, [acct!.id])).rejects.toThrow(/ledger_accounts_floor/);
    await expect(orm.em.execute(`delete from "${SCHEMA}".ledger_entries where account_id = ?`, [acct!.id])).rejects.toThrow(/append-only/);
    expect((await ledger.reconcile(m, USDT)).matches).toBe(true);
  });

  it("serves Merchant.balances and Merchant.ledger as decimal strings in the coin's decimals", async () => {
    const m = await newMerchant('graphql');
    await ledger.post(depositConfirmed({ merchantId: m, coinId: USDT, deposit: deposit(500), amount: 12_500_000n, wasSeen: false }));
    await ledger.post(holdForWithdrawal({ merchantId: m, coinId: USDT, withdrawalId: 'w-gql', amount: 2_000_001n }));
    await ledger.post(depositSeen({ merchantId: m, coinId: ETH, deposit: deposit(501), amount: 10n ** 15n }));
    const schema = buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers: { ...scalarResolvers, ...resolvers } as GraphQLResolverMap<unknown> }]);
    const em = orm.em.fork();
    const contextValue = {
      identity: { kind: 'merchant', merchantId: m, keyId: m, scopes: ['READ'] },
      requestId: 'r',
      log: createLogger('t', 'silent'),
      merchants: new MerchantService(em),
      ledger: new LedgerService(em),
    };
    const run = (q: string) => execute({ schema, document: parse(q), contextValue });
    const r = await run(
      '{ me { balances { coin { id } available pending held } ledger(first: 2, coinId: "dev-evm:USDT") { nodes { coin { id } amount kind reference balanceAfter createdAt } pageInfo { hasNextPage endCursor } } } }',
    );
    expect(r.errors).toBeUndefined();
    const me = r.data!.me as { balances: unknown[]; ledger: { nodes: unknown[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    expect(me.balances).toEqual([
      { coin: { id: ETH }, available: '0', pending: '0.001', held: '0' },
      { coin: { id: USDT }, available: '10.499999', pending: '0', held: '2.000001' },
    ]);
    expect(me.ledger.nodes).toEqual([
      expect.objectContaining({
        coin: { id: USDT },
        amount: '2.000001',
        kind: 'withdrawal_hold.held',
        reference: 'withdrawal:w-gql',
        balanceAfter: '2.000001',
      }),
      expect.objectContaining({ amount: '-2.000001', kind: 'withdrawal_hold.available', balanceAfter: '10.499999' }),
    ]);
    expect(me.ledger.pageInfo.hasNextPage).toBe(true);
    const next = await run(
      `{ me { ledger(first: 2, coinId: "dev-evm:USDT", after: "${me.ledger.pageInfo.endCursor}") { nodes { amount kind } pageInfo { hasNextPage } } } }`,
    );
    expect(next.data).toEqual({ me: { ledger: { nodes: [{ amount: '12.5', kind: 'deposit_confirmed.available' }], pageInfo: { hasNextPage: false } } } });
  });

  it("joins the caller's transaction: a consumer's rollback takes the posting with it, applyOnce posts once", async () => {
    const m = await newMerchant('joined');
    const credit = depositConfirmed({ merchantId: m, coinId: USDT, deposit: deposit(600), amount: 77n, wasSeen: false });
    await expect(
      orm.em.fork().transactional(async (tx) => {
        await new LedgerService(tx).post(credit);
        throw new Error('consumer failed after posting');
      }),
    ).rejects.toThrow('consumer failed');
    expect(await balanceOf(m, USDT)).toBeUndefined();
    const applied = await Promise.all(
      [1, 2, 3].map(() => applyOnce(orm.em, SCHEMA, 'test-credit', `msg-${m}`, async (tx) => void (await new LedgerService(tx).post(credit)))),
    );
    expect(applied.filter(Boolean)).toHaveLength(1);
    expect((await balanceOf(m, USDT))!.available).toBe(77n);
  });
});
