import { randomUUID } from 'node:crypto';
import { AbiCoder, Wallet, keccak256 } from 'ethers';
import type { Client } from 'graphql-ws';
import { DEV_EVM_USDT_ADDRESS, type DevChainControls, type NetworkConfig } from '@cpg/chains';
import type { LitecoindHandle } from '@cpg/devkit/chains/bitcoin/dev';
import { ERC20 } from '@cpg/chains/evm/signer';
import type { RawReceipt } from '@cpg/chains/evm/raw';
import type { RpcPool } from '@cpg/chains/rpc';
import { formatAmount, parseAmount } from '@cpg/core/money';
import { withPg } from '@cpg/devkit/services';
import { type GraphQLResponse, eventually, gql } from '@cpg/devkit/testing';
import type { RunningTracker } from '@cpg/worker-tracker/src/worker';
import { type DevChains, startChainTracker, startDevChains } from './support/dev-chains';
import { type Stack, startStack } from './support/stack';
import { type WsSub, connectWs, subscribeWs, waitUntil } from './support/ws';

/**
 * Withdrawals end to end on real dev chains: the whole supergraph, the real signer worker paying
 * from each merchant's HOT wallet, the tracker, anvil (with DevUSDT) and litecoind of this file's
 * own. Merchants are credited by real paid payments; their HOT wallets are filled with the dev
 * faucets (an inflow the ledger credits like any unsolicited deposit). Compliance screening is on
 * (COMPLIANCE_SCREENING=nats).
 */
jest.setTimeout(60_000);

const ETH = 10n ** 18n;
const USDT = 10n ** 6n;
const LTC = 10n ** 8n;
const DECIMALS: Record<string, number> = { 'dev-evm:ETH': 18, 'dev-evm:USDT': 6, 'dev-ltc:LTC': 8 };
/** On the OFAC SDN list of 2025-11-19 (shared/fixtures/sanctions/brave-intl_2025-11-19/sanctioned_addresses_ETH.txt). */
const OFAC_ETH = '0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf';
const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';

let stack: Stack;
let chains: DevChains;
let ltcNode: LitecoindHandle;
let tracker: RunningTracker;
let evmRpc: RpcPool;
let evmNet: NetworkConfig;
let ltcNet: NetworkConfig;
let controls: Record<string, DevChainControls>;
const clients: Client[] = [];
/** Runs in the signer after a transaction is stored and before it is broadcast (one test uses it). */
let beforeBroadcast: ((batchId: string) => Promise<void>) | undefined;

beforeAll(async () => {
  chains = await startDevChains({ confirmations: 1 });
  ({ ltcNode, evmRpc, evm: evmNet, ltc: ltcNet, controls } = chains);
  stack = await startStack(
    {},
    {
      withdrawalEnv: { COMPLIANCE_SCREENING: 'nats', WITHDRAWAL_FEE_ESTIMATOR: 'static' },
      // The signer pays on this file's chains; a short poll keeps each flow quick.
      signerConfig: { WITHDRAWAL_POLL_MS: 200, WITHDRAWAL_FUNDS_RETRY_MS: 3000 },
      signerOptions: { networks: [evmNet, ltcNet], afterSign: (batchId) => beforeBroadcast?.(batchId) },
    },
  );
  tracker = await startChainTracker(stack, chains);
}, 90_000);

afterAll(async () => {
  for (const c of clients) await Promise.resolve(c.dispose()).catch(() => undefined);
  await tracker?.stop();
  await stack?.stop();
  await chains?.stop();
});

type Merchant = Awaited<ReturnType<Stack['newMerchant']>>;
type Res = GraphQLResponse;

const code = (res: Res) => res.errors?.[0]?.extensions?.code;
const networkOf = (coinId: string) => coinId.split(':')[0]!;
const chainOf = (coinId: string) => controls[networkOf(coinId)]!;
const fmt = (coinId: string, units: bigint) => formatAmount(units, DECIMALS[coinId]!);
const units = (coinId: string, amount: string) => parseAmount(amount, DECIMALS[coinId]!, { allowNegative: true, allowZero: true });

async function ok(p: Promise<Res>): Promise<any> {
  const r = await p;
  if (!r.data || r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data;
}

const W = 'id status amount fee feeCoin { id } txHash failureReason waitingReason toAddress coin { id } batch { id status txHash withdrawals { id } }';
const REQUEST = `mutation($input: RequestWithdrawalInput!) { requestWithdrawal(input: $input) { ${W} } }`;
const GET = `query($id: ID!) { withdrawal(id: $id) { ${W} } }`;

interface WOut {
  id: string;
  status: string;
  amount: string;
  fee: string | null;
  feeCoin: { id: string } | null;
  txHash: string | null;
  failureReason: string | null;
  waitingReason: string | null;
  toAddress: string;
  batch: { id: string; status: string; txHash: string | null; withdrawals: { id: string }[] } | null;
}

/** Pays a payment on chain and waits until it is PAID (or OVERPAID): the ledger credits the merchant. */
async function payIn(m: Merchant, coinId: string, price: bigint, paid = price): Promise<string> {
  const d = await ok(
    gql(
      stack.url,
      'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id address { address } } }',
      { i: { coinId, amount: fmt(coinId, price) } },
      m.secret,
    ),
  );
  const { id, address } = { id: d.createPayment.id as string, address: d.createPayment.address.address as string };
  await chainOf(coinId).fund(address, coinId, paid);
  if (networkOf(coinId) === 'dev-ltc') await chainOf(coinId).mine(1);
  const want = paid > price ? 'OVERPAID' : 'PAID';
  await eventually(
    async () => (await gql(stack.url, 'query($id: ID!) { payment(id: $id) { status } }', { id }, m.secret)).data?.payment?.status === want,
    `payment ${want}`,
    20_000,
  );
  return id;
}

const hotAddresses = new Map<string, string>();

/** The merchant's HOT wallet through the API (createAddress type HOT), checked against the signer's own record. */
async function hotWallet(m: Merchant, networkId: string): Promise<string> {
  const key = `${m.id}:${networkId}`;
  const known = hotAddresses.get(key);
  if (known) return known;
  const d = await ok(
    gql(stack.url, 'mutation($i: CreateAddressInput!) { createAddress(input: $i) { id address type } }', { i: { networkId, type: 'HOT' } }, m.secret),
  );
  expect(d.createAddress.type).toBe('HOT');
  const signerSide = await stack.signer.hotWallets.find(m.id, networkId);
  // The address the API hands out is the one the signer pays withdrawals from.
  expect(signerSide?.address).toBe(d.createAddress.address);
  await eventually(async () => tracker.watchLists.lists.get(networkId)?.get(d.createAddress.address) !== undefined, 'the tracker to watch the HOT wallet');
  hotAddresses.set(key, d.createAddress.address);
  return d.createAddress.address;
}

/** Fills the HOT wallet from the dev faucet and mines it in (the ledger credits the inflow). */
async function fundHot(m: Merchant, coinId: string, amount: bigint): Promise<void> {
  const address = await hotWallet(m, networkOf(coinId));
  await chainOf(coinId).fund(address, coinId, amount);
  if (networkOf(coinId) === 'dev-ltc') await chainOf(coinId).mine(1);
}

type Balances = Record<string, { available: bigint; pending: bigint; held: bigint }>;

async function balances(m: Merchant): Promise<Balances> {
  const d = await ok(gql(stack.url, '{ me { balances { coin { id } available pending held } } }', {}, m.secret));
  const out: Balances = {};
  for (const b of d.me.balances as { coin: { id: string }; available: string; pending: string; held: string }[]) {
    out[b.coin.id] = { available: units(b.coin.id, b.available), pending: units(b.coin.id, b.pending), held: units(b.coin.id, b.held) };
  }
  return out;
}

/** Waits until every listed coin shows exactly `available` (and nothing pending or held). */
async function expectAvailable(m: Merchant, expected: Record<string, bigint>, what: string): Promise<void> {
  const matches = (b: Balances) =>
    Object.entries(expected).every(([c, v]) => (b[c]?.available ?? 0n) === v && (b[c]?.held ?? 0n) === 0n && (b[c]?.pending ?? 0n) === 0n);
  let last: Balances = {};
  await eventually(
    async () => {
      last = await balances(m);
      return matches(last);
    },
    what,
    20_000,
  ).catch((err) => {
    const show = Object.fromEntries(Object.entries(last).map(([c, b]) => [c, `${b.available}/${b.pending}/${b.held}`]));
    const want = Object.fromEntries(Object.entries(expected).map(([c, v]) => [c, v.toString()]));
    throw new Error(`${(err as Error).message}: have (available/pending/held) ${JSON.stringify(show)}, want available ${JSON.stringify(want)}`);
  });
}

/** Net of the merchant's ledger entries for one reference, per coin: how a withdrawal changed the books. */
async function ledgerNet(m: Merchant, reference: string): Promise<Record<string, bigint>> {
  const out: Record<string, bigint> = {};
  const PAGE =
    'query($after: String) { me { ledger(first: 200, after: $after) { nodes { coin { id } amount reference } pageInfo { hasNextPage endCursor } } } }';
  for (let after: string | null = null; ;) {
    const d = await ok(gql(stack.url, PAGE, { after }, m.secret));
    for (const e of d.me.ledger.nodes as { coin: { id: string }; amount: string; reference: string }[]) {
      if (e.reference === reference) out[e.coin.id] = (out[e.coin.id] ?? 0n) + units(e.coin.id, e.amount);
    }
    if (!d.me.ledger.pageInfo.hasNextPage) return out;
    after = d.me.ledger.pageInfo.endCursor;
  }
}

async function invariantsOk(): Promise<void> {
  const inv = await stack.operator('{ ledgerInvariants { ok unbalancedTransactions negativeAccounts mismatchedBalances } }');
  expect(inv.errors).toBeUndefined();
  expect(inv.data.ledgerInvariants).toEqual({ ok: true, unbalancedTransactions: 0, negativeAccounts: 0, mismatchedBalances: 0 });
}

async function request(m: Merchant, coinId: string, toAddress: string, amount: bigint): Promise<Res> {
  return gql(stack.url, REQUEST, { input: { coinId, toAddress, amount: fmt(coinId, amount), idempotencyKey: randomUUID() } }, m.secret);
}

async function withdraw(m: Merchant, coinId: string, toAddress: string, amount: bigint): Promise<WOut> {
  return (await ok(request(m, coinId, toAddress, amount))).requestWithdrawal;
}

async function get(m: Merchant, id: string): Promise<WOut> {
  return (await ok(gql(stack.url, GET, { id }, m.secret))).withdrawal;
}

async function until(m: Merchant, id: string, what: string, test: (w: WOut) => boolean, ms = 20_000): Promise<WOut> {
  let last: WOut | undefined;
  return eventually(
    async () => {
      last = await get(m, id);
      return test(last) ? last : undefined;
    },
    what,
    ms,
    100,
  ).catch((err) => {
    throw new Error(`${(err as Error).message}; last: ${JSON.stringify(last)}`);
  });
}

/** Waits for BROADCAST, mines a block on litecoind and waits for CONFIRMED (EVM: anvil mined it already). */
async function confirmed(m: Merchant, w: WOut, coinId: string): Promise<WOut> {
  if (networkOf(coinId) === 'dev-ltc') {
    await until(m, w.id, 'BROADCAST', (x) => x.status === 'BROADCAST' || x.status === 'CONFIRMED');
    await chainOf(coinId).mine(1);
  }
  return until(m, w.id, 'CONFIRMED', (x) => x.status === 'CONFIRMED' || x.status === 'FAILED').then((x) => {
    if (x.status !== 'CONFIRMED') throw new Error(`withdrawal ${x.id} FAILED: ${x.failureReason}`);
    return x;
  });
}

const SUBSCRIPTION = 'subscription($id: ID!) { withdrawalUpdated(id: $id) { id status txHash } }';

/** Subscribes and waits until the gateway listens. */
async function follow(m: Merchant, id: string): Promise<WsSub> {
  const before = stack.gateway.liveSubscriptions();
  const client = connectWs(stack.url, m.secret);
  clients.push(client);
  const sub = subscribeWs(client, SUBSCRIPTION, { id });
  await waitUntil(() => stack.gateway.liveSubscriptions() > before || sub.error !== undefined, 'the subscription to be live');
  return sub;
}

const pushed = (sub: WsSub): string[] =>
  sub.results
    .map((r) => r.data?.withdrawalUpdated?.status as string | undefined)
    .filter((s): s is string => Boolean(s))
    .filter((s, i, all) => s !== all[i - 1]);

const RANK: Record<string, number> = { QUEUED: 0, BATCHED: 1, SIGNING: 2, BROADCAST: 3, CONFIRMED: 4 };

const fresh = () => Wallet.createRandom().address;
const freshLtc = () => ltcNode.walletTransport.call<string>('getnewaddress', ['', 'bech32']);
const receipt = (h: string) => evmRpc.call<RawReceipt>('eth_getTransactionReceipt', [h]);
const ethBalance = async (a: string) => BigInt(await evmRpc.call<string>('eth_getBalance', [a, 'latest']));
const usdtBalance = async (a: string) =>
  BigInt(await evmRpc.call<string>('eth_call', [{ to: DEV_EVM_USDT_ADDRESS, data: ERC20.encodeFunctionData('balanceOf', [a]) }, 'latest']));
const gasOf = (r: RawReceipt) => BigInt(r.gasUsed) * BigInt(r.effectiveGasPrice!);

interface LtcTx {
  txid: string;
  vin: { txid: string; vout: number }[];
  vout: { value: number | string; n: number; scriptPubKey: { address?: string; addresses?: string[] } }[];
}
const ltcTx = (txid: string) => ltcNode.transport.call<LtcTx>('getrawtransaction', [txid, true]);
const sats = (v: number | string) => parseAmount(typeof v === 'number' ? v.toFixed(8) : v, 8);
const outAddress = (o: LtcTx['vout'][number]) => o.scriptPubKey.address ?? o.scriptPubKey.addresses?.[0];

/** Fee of a litecoin transaction: its inputs (looked up) minus its outputs. */
async function ltcFee(tx: LtcTx): Promise<bigint> {
  let inputs = 0n;
  for (const i of tx.vin) inputs += sats((await ltcTx(i.txid)).vout[i.vout]!.value);
  return inputs - tx.vout.reduce((s, o) => s + sats(o.value), 0n);
}

async function aggregation(m: Merchant, input: Record<string, unknown>): Promise<void> {
  await ok(gql(stack.url, 'mutation($input: UpdateMerchantSettingsInput!) { updateMerchantSettings(input: $input) { id } }', { input }, m.secret));
  // The withdrawal subgraph keeps its own copy of the settings, fed by merchant events.
  await eventually(
    () =>
      withPg(stack.env.databaseUrl, async (c) => {
        const r = await c.query('select withdrawal_aggregation, batch_max_size from withdrawal.merchant_settings where merchant_id = $1', [m.id]);
        const row = r.rows[0] as { withdrawal_aggregation: string; batch_max_size: number } | undefined;
        return row?.withdrawal_aggregation === input.withdrawalAggregation && row?.batch_max_size === input.batchMaxSize;
      }),
    'aggregation settings to reach the withdrawal subgraph',
    15_000,
  );
}

describe('NONE: each withdrawal at once, paid from the merchant HOT wallet', () => {
  it('ETH, USDT and LTC: BATCHED -> BROADCAST -> CONFIRMED on chain, followed over graphql-ws; each balance debited once (amount + fee)', async () => {
    const m = await stack.newMerchant('Payout shop');
    await payIn(m, 'dev-evm:ETH', ETH / 2n);
    await payIn(m, 'dev-evm:USDT', 20n * USDT);
    await payIn(m, 'dev-ltc:LTC', LTC);
    await fundHot(m, 'dev-evm:ETH', ETH / 2n);
    await fundHot(m, 'dev-evm:USDT', 30n * USDT);
    await fundHot(m, 'dev-ltc:LTC', LTC);
    const start = { 'dev-evm:ETH': ETH, 'dev-evm:USDT': 50n * USDT, 'dev-ltc:LTC': 2n * LTC };
    await expectAvailable(m, start, 'payments and HOT wallet inflows credited');

    const ethTo = fresh();
    const usdtTo = fresh();
    const ltcTo = await freshLtc();
    const cases = [
      { coinId: 'dev-evm:ETH', to: ethTo, amount: ETH / 10n },
      { coinId: 'dev-evm:USDT', to: usdtTo, amount: 5n * USDT },
      { coinId: 'dev-ltc:LTC', to: ltcTo, amount: (3n * LTC) / 10n },
    ];
    const done: Record<string, { w: WOut; sub: WsSub }> = {};
    for (const c of cases) {
      const w = await withdraw(m, c.coinId, c.to, c.amount);
      expect(w).toMatchObject({ status: 'BATCHED', amount: fmt(c.coinId, c.amount), coin: { id: c.coinId } });
      expect(w.batch!.withdrawals).toEqual([{ id: w.id }]);
      const sub = await follow(m, w.id);
      done[c.coinId] = { w: await confirmed(m, w, c.coinId), sub };
    }

    // On chain: each transaction pays its destination, from the HOT wallet.
    const ethW = done['dev-evm:ETH']!.w;
    const ethR = await receipt(ethW.txHash!);
    expect(ethR.status).toBe('0x1');
    expect(ethR.from.toLowerCase()).toBe((await hotWallet(m, 'dev-evm')).toLowerCase());
    expect(await ethBalance(ethTo)).toBe(ETH / 10n);
    expect(ethW).toMatchObject({ fee: fmt('dev-evm:ETH', gasOf(ethR)), feeCoin: { id: 'dev-evm:ETH' }, batch: { status: 'CONFIRMED', txHash: ethW.txHash } });

    const usdtW = done['dev-evm:USDT']!.w;
    const usdtR = await receipt(usdtW.txHash!);
    expect(usdtR.status).toBe('0x1');
    expect(usdtR.to!.toLowerCase()).toBe(DEV_EVM_USDT_ADDRESS.toLowerCase());
    expect(await usdtBalance(usdtTo)).toBe(5n * USDT);
    expect(usdtW).toMatchObject({ fee: fmt('dev-evm:ETH', gasOf(usdtR)), feeCoin: { id: 'dev-evm:ETH' } });

    const ltcW = done['dev-ltc:LTC']!.w;
    const tx = await ltcTx(ltcW.txHash!);
    const payee = tx.vout.filter((o) => outAddress(o) === ltcTo);
    expect(payee.map((o) => sats(o.value))).toEqual([(3n * LTC) / 10n]);
    const ltcFeePaid = await ltcFee(tx);
    expect(ltcW).toMatchObject({ fee: fmt('dev-ltc:LTC', ltcFeePaid), feeCoin: { id: 'dev-ltc:LTC' } });

    // Fee policy: the amount from the coin's balance, the fee from the native coin's.
    const expected = {
      'dev-evm:ETH': ETH - ETH / 10n - gasOf(ethR) - gasOf(usdtR),
      'dev-evm:USDT': 45n * USDT,
      'dev-ltc:LTC': 2n * LTC - (3n * LTC) / 10n - ltcFeePaid,
    };
    await expectAvailable(m, expected, 'each withdrawal settled with its fee');
    // Each withdrawal moved the books once: its amount, and its fee on the native coin.
    const settled = async () => ({
      eth: await ledgerNet(m, `withdrawal:${ethW.id}`),
      usdt: await ledgerNet(m, `withdrawal:${usdtW.id}`),
      ltc: await ledgerNet(m, `withdrawal:${ltcW.id}`),
    });
    const books = {
      eth: { 'dev-evm:ETH': -(ETH / 10n) - gasOf(ethR) },
      usdt: { 'dev-evm:USDT': -5n * USDT, 'dev-evm:ETH': -gasOf(usdtR) },
      ltc: { 'dev-ltc:LTC': -(3n * LTC) / 10n - ltcFeePaid },
    };
    expect(await settled()).toEqual(books);
    // More blocks (the LTC change to the HOT wallet confirming deeper: our own coins, never a
    // deposit) change nothing: debited once.
    await Promise.all([controls['dev-evm']!.mine(2), controls['dev-ltc']!.mine(2)]);
    await new Promise((r) => setTimeout(r, 1500));
    await expectAvailable(m, expected, 'balances unchanged after more blocks');
    expect(await settled()).toEqual(books);
    await invariantsOk();

    // Every subscriber saw its withdrawal through to CONFIRMED, in order; LTC (mined by us) also saw BROADCAST.
    for (const { w, sub } of Object.values(done)) {
      await waitUntil(() => pushed(sub).includes('CONFIRMED'), `the CONFIRMED push of ${w.id}`, 10_000);
      const seen = pushed(sub);
      expect(seen.at(-1)).toBe('CONFIRMED');
      expect(seen.map((s) => RANK[s])).toEqual([...seen.map((s) => RANK[s])].sort());
      expect(sub.results.every((r) => !r.errors)).toBe(true);
      sub.stop();
    }
    expect(pushed(done['dev-ltc:LTC']!.sub)).toEqual(expect.arrayContaining(['BROADCAST', 'CONFIRMED']));
  });
});

describe('NONE: several at once from one HOT wallet', () => {
  it("3 ETH withdrawals at once take consecutive nonces; a second LTC payout waits for the first one's change, then goes", async () => {
    const m = await stack.newMerchant('Busy shop');
    await payIn(m, 'dev-evm:ETH', ETH / 2n);
    await fundHot(m, 'dev-evm:ETH', ETH / 2n);
    await fundHot(m, 'dev-ltc:LTC', LTC);
    await expectAvailable(m, { 'dev-evm:ETH': ETH, 'dev-ltc:LTC': LTC }, 'credited');
    const hot = await hotWallet(m, 'dev-evm');

    const tos = [fresh(), fresh(), fresh()];
    const ws = await Promise.all(tos.map((to) => withdraw(m, 'dev-evm:ETH', to, ETH / 20n)));
    const done = await Promise.all(ws.map((w) => confirmed(m, w, 'dev-evm:ETH')));
    for (const to of tos) expect(await ethBalance(to)).toBe(ETH / 20n);
    const txs = await Promise.all(done.map((w) => evmRpc.call<{ nonce: string; from: string }>('eth_getTransactionByHash', [w.txHash])));
    expect(txs.map((t) => Number(t.nonce)).sort()).toEqual([0, 1, 2]);
    expect(Number(await evmRpc.call<string>('eth_getTransactionCount', [hot, 'latest']))).toBe(3);
    let fees = 0n;
    for (const w of done) fees += gasOf(await receipt(w.txHash!));
    await expectAvailable(m, { 'dev-evm:ETH': ETH - (3n * ETH) / 20n - fees }, 'the three settled');

    // One confirmed coin in the LTC HOT wallet: the second payout can only spend the first one's change.
    const [a, b] = await Promise.all([withdraw(m, 'dev-ltc:LTC', await freshLtc(), LTC / 10n), withdraw(m, 'dev-ltc:LTC', await freshLtc(), LTC / 10n)]);
    const first = await eventually(
      async () => {
        const [x, y] = [await get(m, a.id), await get(m, b.id)];
        if (x.status === 'BROADCAST' && y.waitingReason) return { sent: x, waiting: y };
        if (y.status === 'BROADCAST' && x.waitingReason) return { sent: y, waiting: x };
        return undefined;
      },
      'one LTC payout broadcast, the other waiting',
      20_000,
    );
    expect(first.waiting.status).toBe('BATCHED');
    expect(first.waiting.waitingReason).toMatch(/not confirmed yet/);
    await controls['dev-ltc']!.mine(1);
    await until(m, first.sent.id, 'CONFIRMED', (x) => x.status === 'CONFIRMED');
    const second = await confirmed(m, first.waiting, 'dev-ltc:LTC');
    expect(second.waitingReason).toBeNull();
    const tx = await ltcTx(second.txHash!);
    // It spent the first payout's change.
    expect(tx.vin.map((i) => i.txid)).toContain((await get(m, first.sent.id)).txHash);
    let ltcFees = 0n;
    for (const w of [first.sent, second]) {
      const fee = units('dev-ltc:LTC', (await get(m, w.id)).fee!);
      ltcFees += fee;
      expect(await ledgerNet(m, `withdrawal:${w.id}`)).toEqual({ 'dev-ltc:LTC': -LTC / 10n - fee });
    }
    await expectAvailable(m, { 'dev-ltc:LTC': LTC - LTC / 5n - ltcFees }, 'both LTC payouts settled; the change is no deposit');
    await invariantsOk();
  });
});

describe('BATCH: 20 withdrawals, one transaction', () => {
  it('20 LTC -> one transaction with 20 payee outputs plus change; 20 USDT -> one BatchTransfer transaction; each points to its batch', async () => {
    const m = await stack.newMerchant('Batch shop');
    await aggregation(m, { withdrawalAggregation: 'BATCH', batchMaxSize: 20, batchMaxWaitSeconds: 3600 });
    await payIn(m, 'dev-ltc:LTC', LTC / 2n);
    await payIn(m, 'dev-evm:USDT', 30n * USDT);
    await fundHot(m, 'dev-ltc:LTC', (5n * LTC) / 2n);
    await fundHot(m, 'dev-evm:USDT', 30n * USDT);
    await fundHot(m, 'dev-evm:ETH', ETH / 5n);
    await expectAvailable(m, { 'dev-ltc:LTC': 3n * LTC, 'dev-evm:USDT': 60n * USDT, 'dev-evm:ETH': ETH / 5n }, 'credited');

    // LTC: 0.01, 0.02, ... 0.20 to 20 addresses.
    const ltcTos: string[] = [];
    for (let i = 0; i < 20; i++) ltcTos.push(await freshLtc());
    const ltcAmount = (i: number) => BigInt(i + 1) * (LTC / 100n);
    const ltcWs: WOut[] = [];
    for (const [i, to] of ltcTos.entries()) ltcWs.push(await withdraw(m, 'dev-ltc:LTC', to, ltcAmount(i)));
    expect(ltcWs.slice(0, 19).every((w) => w.status === 'QUEUED')).toBe(true);
    const ltcLast = await until(m, ltcWs[19]!.id, 'BROADCAST', (x) => x.status === 'BROADCAST');
    await controls['dev-ltc']!.mine(1);
    const ltcDone = await Promise.all(ltcWs.map((w) => until(m, w.id, 'CONFIRMED', (x) => x.status === 'CONFIRMED')));
    const ltcHash = ltcLast.txHash!;
    expect(new Set(ltcDone.map((w) => w.batch!.id)).size).toBe(1);
    expect(ltcDone.every((w) => w.txHash === ltcHash && w.batch!.txHash === ltcHash)).toBe(true);
    expect(ltcDone[0]!.batch!.withdrawals).toHaveLength(20);
    const tx = await ltcTx(ltcHash);
    const hotLtc = await hotWallet(m, 'dev-ltc');
    for (const [i, to] of ltcTos.entries()) expect(tx.vout.filter((o) => outAddress(o) === to).map((o) => sats(o.value))).toEqual([ltcAmount(i)]);
    expect(tx.vout).toHaveLength(21);
    expect(tx.vout.filter((o) => outAddress(o) === hotLtc)).toHaveLength(1);
    const ltcFeePaid = await ltcFee(tx);
    expect(ltcDone.reduce((s, w) => s + units('dev-ltc:LTC', w.fee!), 0n)).toBe(ltcFeePaid);

    // USDT: 0.1, 0.2, ... 2.0 to 20 addresses.
    const usdtTos = Array.from({ length: 20 }, fresh);
    const usdtAmount = (i: number) => BigInt(i + 1) * (USDT / 10n);
    const usdtWs: WOut[] = [];
    for (const [i, to] of usdtTos.entries()) usdtWs.push(await withdraw(m, 'dev-evm:USDT', to, usdtAmount(i)));
    const usdtDone = await Promise.all(usdtWs.map((w) => until(m, w.id, 'CONFIRMED', (x) => x.status === 'CONFIRMED')));
    const usdtHash = usdtDone[0]!.txHash!;
    expect(usdtDone.every((w) => w.txHash === usdtHash && w.batch!.txHash === usdtHash)).toBe(true);
    expect(new Set(usdtDone.map((w) => w.batch!.id)).size).toBe(1);
    for (const [i, to] of usdtTos.entries()) expect(await usdtBalance(to)).toBe(usdtAmount(i));
    const r = await receipt(usdtHash);
    const contract = await withPg(stack.env.databaseUrl, async (c) => {
      const res = await c.query(`select address from signer.evm_contracts where network_id = 'dev-evm' and kind = 'BatchTransfer'`);
      return (res.rows[0] as { address: string }).address;
    });
    expect(r.to!.toLowerCase()).toBe(contract.toLowerCase());
    expect(r.logs.filter((l) => l.topics[0] === TRANSFER_TOPIC)).toHaveLength(20);
    // The batch's fee is the payout's gas plus the one-time approval of the contract, all from this HOT wallet.
    const approvals = await withPg(stack.env.databaseUrl, async (c) => {
      const res = await c.query(`select tx_hash from signer.withdrawal_txs where batch_id = $1 and kind = 'APPROVAL'`, [usdtDone[0]!.batch!.id]);
      return (res.rows as { tx_hash: string }[]).map((x) => x.tx_hash);
    });
    let usdtFee = gasOf(r);
    for (const a of approvals) usdtFee += gasOf(await receipt(a));
    expect(usdtDone.reduce((s, w) => s + units('dev-evm:ETH', w.fee!), 0n)).toBe(usdtFee);

    await expectAvailable(m, { 'dev-evm:USDT': 60n * USDT - 21n * USDT, 'dev-evm:ETH': ETH / 5n - usdtFee }, 'both batches settled with their fees');
    // The LTC withdrawals each moved the books once, by amount + fee share.
    for (const [i, w] of ltcDone.entries()) {
      expect(await ledgerNet(m, `withdrawal:${w.id}`)).toEqual({ 'dev-ltc:LTC': -ltcAmount(i) - units('dev-ltc:LTC', w.fee!) });
    }
    await expectAvailable(m, { 'dev-ltc:LTC': 3n * LTC - (21n * LTC) / 10n - ltcFeePaid }, 'the LTC batch settled; its change is no deposit');
    await invariantsOk();
  });
});

describe('an empty HOT wallet', () => {
  it('waits with the reason visible, and goes out once the wallet is funded', async () => {
    const m = await stack.newMerchant('Empty wallet shop');
    await payIn(m, 'dev-evm:ETH', ETH / 2n);
    await expectAvailable(m, { 'dev-evm:ETH': ETH / 2n }, 'credited');
    const to = fresh();
    const w = await withdraw(m, 'dev-evm:ETH', to, ETH / 10n);
    const waiting = await until(m, w.id, 'the waiting reason', (x) => x.waitingReason !== null);
    expect(waiting.status).toBe('BATCHED');
    // The first withdrawal registered the merchant's HOT wallet with the address subgraph (no
    // createAddress call yet), so the tracker watches it and a refill is seen.
    const listed = await eventually(async () => {
      const r = await gql(stack.url, '{ addresses(filter: { networkId: "dev-evm", type: HOT }) { nodes { address } } }', {}, m.secret);
      return (r.data?.addresses?.nodes?.[0]?.address as string | undefined) ?? undefined;
    }, 'the HOT wallet registered by the first withdrawal');
    // The HOT wallet the API hands out is the one the signer is waiting on.
    const hot = await hotWallet(m, 'dev-evm');
    expect(hot).toBe(listed);
    expect(waiting.waitingReason).toContain(`HOT wallet ${hot} has 0 of the`);
    const balance = await balances(m);
    expect(balance['dev-evm:ETH']).toEqual({ available: ETH / 2n - ETH / 10n, pending: 0n, held: ETH / 10n });

    await fundHot(m, 'dev-evm:ETH', (3n * ETH) / 10n);
    const done = await confirmed(m, w, 'dev-evm:ETH');
    expect(done.waitingReason).toBeNull();
    expect(await ethBalance(to)).toBe(ETH / 10n);
    const fee = gasOf(await receipt(done.txHash!));
    await expectAvailable(m, { 'dev-evm:ETH': ETH / 2n + (3n * ETH) / 10n - ETH / 10n - fee }, 'settled');
    await invariantsOk();
  });
});

describe('compliance screening (COMPLIANCE_SCREENING=nats)', () => {
  it('an OFAC-listed destination is REJECTED with the reason and holds nothing; a grey-listed REVIEW one waits for approval, then goes out', async () => {
    const m = await stack.newMerchant('Screened shop');
    await payIn(m, 'dev-evm:ETH', ETH / 2n);
    await fundHot(m, 'dev-evm:ETH', ETH / 2n);
    await expectAvailable(m, { 'dev-evm:ETH': ETH }, 'credited');

    const blocked = await withdraw(m, 'dev-evm:ETH', OFAC_ETH, ETH / 10n);
    expect(blocked.status).toBe('REJECTED');
    expect(blocked.failureReason).toMatch(/OFAC/);
    expect(blocked.batch).toBeNull();
    expect((await get(m, blocked.id)).status).toBe('REJECTED');
    await new Promise((r) => setTimeout(r, 500));
    await expectAvailable(m, { 'dev-evm:ETH': ETH }, 'nothing held for the rejected one');
    expect(await ethBalance(OFAC_ETH)).toBe(0n);
    await invariantsOk();

    const grey = fresh();
    await ok(
      stack.operator('mutation($i: GreyListInput!) { addToGreyList(input: $i) { id action } }', {
        i: { networkId: 'dev-evm', address: grey, action: 'REVIEW', reason: 'new payee, check it first' },
      }),
    );
    const review = await withdraw(m, 'dev-evm:ETH', grey, ETH / 10n);
    expect(review.status).toBe('PENDING_APPROVAL');
    expect((await balances(m))['dev-evm:ETH']).toEqual({ available: ETH - ETH / 10n, pending: 0n, held: ETH / 10n });
    await new Promise((r) => setTimeout(r, 500));
    expect(await ethBalance(grey)).toBe(0n);
    const approved = await ok(stack.operator(`mutation($id: ID!) { approveWithdrawal(id: $id) { ${W} } }`, { id: review.id }));
    expect(approved.approveWithdrawal.status).toBe('BATCHED');
    const done = await confirmed(m, review, 'dev-evm:ETH');
    expect(await ethBalance(grey)).toBe(ETH / 10n);
    const fee = gasOf(await receipt(done.txHash!));
    await expectAvailable(m, { 'dev-evm:ETH': ETH - ETH / 10n - fee }, 'settled');
    await invariantsOk();
  });

  it('compliance not answering: requestWithdrawal is UNAVAILABLE and leaves nothing behind', async () => {
    const m = await stack.newMerchant('Unscreened shop');
    await payIn(m, 'dev-evm:ETH', ETH / 2n);
    await expectAvailable(m, { 'dev-evm:ETH': ETH / 2n }, 'credited');
    await stack.restartSubgraph('compliance', {
      whileDown: async () => {
        const res = await request(m, 'dev-evm:ETH', fresh(), ETH / 10n);
        expect(code(res)).toBe('UNAVAILABLE');
        expect(res.data?.requestWithdrawal ?? null).toBeNull();
      },
    });
    const list = await ok(gql(stack.url, '{ withdrawals(first: 10) { nodes { id status } } }', {}, m.secret));
    expect(list.withdrawals.nodes).toEqual([]);
    const left = await withPg(
      stack.env.databaseUrl,
      async (c) => (await c.query('select count(*)::int as n from withdrawal.withdrawals where merchant_id = $1', [m.id])).rows[0].n,
    );
    expect(left).toBe(0);
    await new Promise((r) => setTimeout(r, 500));
    await expectAvailable(m, { 'dev-evm:ETH': ETH / 2n }, 'nothing held');
    await invariantsOk();
  });
});

describe('refundPayment', () => {
  it('pays the overpaid part of a payment back on chain', async () => {
    const m = await stack.newMerchant('Refund shop');
    const paymentId = await payIn(m, 'dev-evm:ETH', ETH / 2n, (8n * ETH) / 10n);
    await fundHot(m, 'dev-evm:ETH', ETH / 2n);
    await expectAvailable(m, { 'dev-evm:ETH': (13n * ETH) / 10n }, 'credited');
    const payer = fresh();
    const d = await ok(
      gql(
        stack.url,
        `mutation($input: RefundPaymentInput!) { refundPayment(input: $input) { ${W} } }`,
        { input: { paymentId, toAddress: payer, idempotencyKey: 'refund-1' } },
        m.secret,
      ),
    );
    const w: WOut = d.refundPayment;
    expect(w).toMatchObject({ amount: '0.3', coin: { id: 'dev-evm:ETH' }, status: 'BATCHED' });
    const done = await confirmed(m, w, 'dev-evm:ETH');
    expect(await ethBalance(payer)).toBe((3n * ETH) / 10n);
    const fee = gasOf(await receipt(done.txHash!));
    await expectAvailable(m, { 'dev-evm:ETH': (13n * ETH) / 10n - (3n * ETH) / 10n - fee }, 'settled');
    await invariantsOk();
  });
});

describe('a payout mined but reverted', () => {
  it('FAILED with the reason; the amount goes back, the gas it burnt is charged once', async () => {
    const m = await stack.newMerchant('Reverted shop');
    await payIn(m, 'dev-evm:USDT', 10n * USDT);
    await fundHot(m, 'dev-evm:USDT', 10n * USDT);
    await fundHot(m, 'dev-evm:ETH', ETH / 10n);
    await expectAvailable(m, { 'dev-evm:USDT': 20n * USDT, 'dev-evm:ETH': ETH / 10n }, 'credited');
    const hot = await hotWallet(m, 'dev-evm');
    // Between signing (simulated fine) and broadcast, the HOT wallet's tokens vanish (DevUSDT's
    // balanceOf is storage slot 1): the transfer is mined and reverts, spending its gas.
    beforeBroadcast = async () => {
      beforeBroadcast = undefined;
      const slot = keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'uint256'], [hot, 1]));
      await evmRpc.call('anvil_setStorageAt', [DEV_EVM_USDT_ADDRESS, slot, `0x${'0'.repeat(64)}`]);
    };
    const to = fresh();
    const w = await withdraw(m, 'dev-evm:USDT', to, 5n * USDT);
    const failed = await until(m, w.id, 'FAILED', (x) => x.status === 'FAILED' || x.status === 'CONFIRMED');
    expect(failed.status).toBe('FAILED');
    expect(failed.failureReason).toMatch(/reverted on chain/);
    const r = await receipt(failed.txHash!);
    expect(r.status).toBe('0x0');
    expect(await usdtBalance(to)).toBe(0n);
    expect(failed).toMatchObject({ fee: fmt('dev-evm:ETH', gasOf(r)), feeCoin: { id: 'dev-evm:ETH' } });
    await expectAvailable(m, { 'dev-evm:USDT': 20n * USDT, 'dev-evm:ETH': ETH / 10n - gasOf(r) }, 'released, gas charged');
    expect(await ledgerNet(m, `withdrawal:${w.id}`)).toEqual({ 'dev-evm:USDT': 0n, 'dev-evm:ETH': -gasOf(r) });
    await invariantsOk();
  });
});

describe('a forged withdrawal.batch.ready', () => {
  it('for a batch the withdrawal subgraph never made is refused by the signer: nothing stored, nothing paid', async () => {
    const m = await stack.newMerchant('forged');
    await fundHot(m, 'dev-evm:ETH', ETH);
    const hot = await hotWallet(m, 'dev-evm');
    const refused = async () =>
      ((await (await fetch(`http://127.0.0.1:${stack.signer.port}/readyz`)).json()) as { counters: Record<string, number> }).counters[
        'signer.withdrawal_batch.refused'
      ] ?? 0;
    const before = await refused();
    const thief = Wallet.createRandom().address;
    const batchId = randomUUID();
    // What a publisher on withdrawal.batch.ready other than the withdrawal subgraph could send.
    await stack.bus.publish(
      'withdrawal.batch.ready',
      {
        batchId,
        merchantId: m.id,
        network: 'dev-evm',
        coinId: 'dev-evm:ETH',
        items: [{ withdrawalId: randomUUID(), toAddress: thief, amount: (ETH / 2n).toString() }],
      },
      { id: randomUUID(), key: batchId },
    );
    await eventually(async () => (await refused()) === before + 1, 'the signer refused the batch', 15_000);
    const stored = await stack.signer.orm.em.fork().execute('select 1 from signer.withdrawal_batches where batch_id = ?', [batchId]);
    expect(stored).toEqual([]);
    expect(BigInt(await evmRpc.call<string>('eth_getBalance', [thief, 'latest']))).toBe(0n);
    expect(Number(await evmRpc.call<string>('eth_getTransactionCount', [hot, 'latest']))).toBe(0);
    await invariantsOk();
  });
});
