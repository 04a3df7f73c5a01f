// What must hold after every fault: checked against Postgres and the chains themselves, not only
// against what the API says.
import type { Load } from './load';
import { fmt, retry, sleep } from './load';
import type { World } from './world';

const FINAL_PAYMENT = ['PAID', 'OVERPAID'];

export interface Verdict {
  payments: number;
  lost: string[];
  doubleCredited: string[];
  doubleSpent: string[];
  problems: string[];
}

/** Waits until every payment the load made is paid, every withdrawal has ended and the books have settled. */
export async function settle(w: World, load: Load, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  const remaining = async () => {
    const open: string[] = [];
    // Statuses straight from the subgraphs' tables: one read per poll, not one request per row.
    const payments = new Map(
      (
        await w.sql<{ id: string; status: string }>(`select id::text, status from payment.payments where id = any($1::uuid[])`, [
          load.payments.map((p) => p.id),
        ])
      ).map((r) => [r.id, r.status]),
    );
    for (const p of load.payments) {
      const status = payments.get(p.id);
      if (!status || !FINAL_PAYMENT.includes(status)) open.push(`payment ${p.id.slice(0, 8)} ${p.coinId} ${status}`);
    }
    const withdrawals = await w.sql<{ id: string; status: string }>(`select id::text, status from withdrawal.withdrawals where id = any($1::uuid[])`, [
      load.withdrawals.map((c) => c.id),
    ]);
    for (const r of withdrawals) {
      if (!['CONFIRMED', 'FAILED', 'REJECTED', 'CANCELLED'].includes(r.status)) open.push(`withdrawal ${r.id.slice(0, 8)} ${r.status}`);
    }
    for (const m of load.merchants) {
      const lines = (await w.operator(`query($m: ID!) { reconciliation(merchantId: $m) { coin { id } difference inFlight openSweeps } }`, { m: m.id }))
        .reconciliation as { coin: { id: string }; difference: string; inFlight: string; openSweeps: number }[];
      for (const l of lines)
        if (l.difference !== '0' || l.inFlight !== '0' || l.openSweeps !== 0) open.push(`reconciliation ${m.id.slice(0, 8)} ${l.coin.id} ${JSON.stringify(l)}`);
    }
    const webhooks = await w.sql<{ n: number }>(`select count(*)::int as n from merchant.webhook_deliveries where status <> 'DELIVERED'`);
    if (webhooks[0]!.n > 0) open.push(`${webhooks[0]!.n} webhook deliveries not delivered`);
    return open;
  };
  let open: string[] = [];
  for (;;) {
    open = await retry('settle read', remaining, 30_000);
    if (open.length === 0) return;
    if (Date.now() > until) throw new Error(`not settled within ${timeoutMs / 1000} s:\n  ${open.join('\n  ')}`);
    await sleep(1000);
  }
}

/** Net credit of one transaction to the merchants' own accounts (pending, available, held) over every deposit reference of it. */
async function creditOf(w: World, network: string, txHash: string): Promise<bigint> {
  const rows = await w.sql<{ net: string | null }>(
    `select sum(e.amount)::text as net
       from merchant.ledger_entries e
       join merchant.ledger_transactions t on t.id = e.transaction_id
       join merchant.ledger_accounts a on a.id = e.account_id
      where a.kind in ('pending', 'available', 'held') and lower(t.reference) like lower($1)`,
    [`deposit:${network}:${txHash}:%`],
  );
  return BigInt(rows[0]?.net ?? '0');
}

/** Whether a payment's transaction is in the chain now (mined and successful). */
async function onChain(w: World, network: string, hash: string): Promise<boolean> {
  if (network === 'dev-evm') return (await w.chains.evmRpc.call<{ status?: string } | null>('eth_getTransactionReceipt', [hash]))?.status === '0x1';
  const tx = await w.chains.ltcNode.walletTransport.call<{ confirmations: number }>('gettransaction', [hash]);
  return tx.confirmations > 0;
}

/** What the chain paid a withdrawal's recipient (a fresh address: nobody else pays it). */
async function receivedOnChain(w: World, coinId: string, to: string): Promise<bigint> {
  if (coinId === 'dev-evm:ETH') return BigInt(await w.chains.evmRpc.call<string>('eth_getBalance', [to, 'latest']));
  const ltc = await w.chains.ltcNode.walletTransport.call<number>('getreceivedbyaddress', [to, 1]);
  return BigInt(Math.round(ltc * 1e8));
}

export async function verify(w: World, load: Load): Promise<Verdict> {
  const v: Verdict = { payments: load.payments.length, lost: [], doubleCredited: [], doubleSpent: [], problems: [] };
  for (const p of load.payments) {
    const network = p.coinId.split(':')[0]!;
    for (const tx of p.txs) {
      // What the chain holds now is what must be credited: a transaction a reorg took away, nothing.
      const expected = (await onChain(w, network, tx.hash)) ? tx.amount : 0n;
      const credited = await creditOf(w, network, tx.hash);
      const what = `payment ${p.id.slice(0, 8)} tx ${tx.hash.slice(0, 12)}: on chain ${fmt(p.coinId, expected)}, credited ${fmt(p.coinId, credited)}`;
      if (credited < expected) v.lost.push(what);
      if (credited > expected) v.doubleCredited.push(what);
    }
    const final = (await w.as(p.merchant.key, 'query($id: ID!) { payment(id: $id) { status } }', { id: p.id })).payment.status;
    if (p.seen.at(-1) !== final)
      v.problems.push(`payment ${p.id.slice(0, 8)}: live subscription ended on ${p.seen.at(-1)} (saw ${p.seen.join(',')}), payment is ${final}`);
  }
  for (const c of load.withdrawals) {
    const status = (await w.as(c.merchant.key, 'query($id: ID!) { withdrawal(id: $id) { status } }', { id: c.id })).withdrawal.status;
    const received = await receivedOnChain(w, c.coinId, c.to);
    const what = `withdrawal ${c.id.slice(0, 8)} ${c.coinId} ${status}: asked ${fmt(c.coinId, c.amount)}, recipient received ${fmt(c.coinId, received)}`;
    if (received > c.amount) v.doubleSpent.push(what);
    else if (status === 'CONFIRMED' ? received !== c.amount : received !== 0n) v.problems.push(what);
  }
  const inv = (await w.operator('{ ledgerInvariants { ok unbalancedTransactions negativeAccounts mismatchedBalances } }')).ledgerInvariants;
  if (!inv.ok) v.problems.push(`ledger invariants: ${JSON.stringify(inv)}`);
  const deliveries = await w.sql<{ event_id: string; status: string }>(`select event_id::text, status from merchant.webhook_deliveries`);
  const undelivered = deliveries.filter((d) => d.status !== 'DELIVERED' || !w.receiver.received.has(d.event_id));
  if (undelivered.length) v.problems.push(`${undelivered.length} of ${deliveries.length} webhooks not delivered`);
  if (deliveries.length === 0) v.problems.push('no webhook was sent at all');
  return v;
}
