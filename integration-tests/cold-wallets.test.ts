import { randomUUID } from 'node:crypto';
import { Wallet } from 'ethers';
import type { NetworkConfig } from '@cpg/chains';
import type { EvmDevControls } from '@cpg/devkit/chains/evm/dev';
import type { RpcPool } from '@cpg/chains/rpc';
import { eventually, gql } from '@cpg/devkit/testing';
import type { RunningTracker } from '@cpg/worker-tracker/src/worker';
import { type RunningCollector, startCollectorWorker } from '@cpg/worker-collector/src/worker';
import { type DevChains, startChainTracker, startDevChains } from './support/dev-chains';
import { type Stack, startStack } from './support/stack';
import { reconciled } from './support/reconcile';

/**
 * Issue 15, items 1 and 2, on the whole stack (anvil, the real tracker, compliance, signer and
 * collector): an address has one owner, so another merchant's deposit address cannot be taken
 * over as a cold wallet; a cold wallet is a withdrawal destination in all but name (scope,
 * screening, cooling-off, operator approval), and what is forwarded to it leaves `available` for
 * `custody` with the books still matching the hot side of the chain.
 */
jest.setTimeout(240_000);

const OFAC_ETH = '0x04DBA1194ee10112fE6C3207C0687DEf0e78baCf';
const ETH = 10n ** 18n;

let stack: Stack;
let chains: DevChains;
let tracker: RunningTracker;
let collector: RunningCollector;
let evm: NetworkConfig;
let evmRpc: RpcPool;
let evmDev: EvmDevControls;

beforeAll(async () => {
  chains = await startDevChains({ exportEnv: true });
  ({ evm, evmRpc, evmDev } = chains);
  stack = await startStack({}, { signerOptions: { networks: [evm, chains.ltc] } });
  tracker = await startChainTracker(stack, chains, { pollIntervalMs: 100, idleRecheckMs: 300, statusIntervalMs: 1000 });
  collector = await startCollectorWorker(stack.env.workerConfig(stack.env.natsAuth('collector')), {
    log: stack.env.log,
    networks: [evm],
    tickMs: 150,
    passMs: 500,
  });
}, 120_000);

afterAll(async () => {
  await collector?.stop().catch(() => undefined);
  await tracker?.stop().catch(() => undefined);
  await stack?.stop().catch(() => undefined);
  await chains?.stop();
});

type Merchant = Awaited<ReturnType<Stack['newMerchant']>>;

async function as(secret: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await gql(stack.url, query, variables, secret);
  if (!res.data || res.errors) throw new Error(`${query.slice(0, 60)}: ${JSON.stringify(res.errors)}`);
  return res.data;
}
const codeOf = (res: { errors?: readonly { extensions?: Record<string, unknown> }[] }) => res.errors?.[0]?.extensions?.code;

const COLD = 'mutation($i: RegisterColdWalletInput!) { registerColdWallet(input: $i) { id address type coldWalletStatus usableFrom } }';
const POLICY = 'mutation($i: SetCollectionPolicyInput!) { setCollectionPolicy(input: $i) { hotTarget coldWallet { id } } }';

async function createPayment(m: Merchant, amount: string): Promise<{ id: string; address: string }> {
  const d = await as(m.secret, 'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id address { address } } }', {
    i: { coinId: 'dev-evm:ETH', amount },
  });
  return { id: d.createPayment.id, address: d.createPayment.address.address };
}
const paymentStatus = async (m: Merchant, id: string) => (await as(m.secret, 'query($id: ID!) { payment(id: $id) { status } }', { id })).payment.status;
const balances = async (m: Merchant) =>
  (await as(m.secret, '{ me { balances { coin { id } available pending held custody } } }')).me.balances as {
    coin: { id: string };
    available: string;
    pending: string;
    held: string;
    custody: string;
  }[];
const sweeps = async (m: Merchant) =>
  (await as(m.secret, '{ sweeps(first: 100) { nodes { kind status toAddress amount } } }')).sweeps.nodes as {
    kind: string;
    status: string;
    toAddress: string;
    amount: string;
  }[];
const ethOf = async (a: string) => BigInt(await evmRpc.call<string>('eth_getBalance', [a, 'latest']));
const wei = (s: string) => {
  const [i, f = ''] = s.split('.');
  return BigInt(i!) * ETH + BigInt((f + '0'.repeat(18)).slice(0, 18));
};

async function counter(port: number, name: string): Promise<number> {
  const body = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { counters?: Record<string, number> };
  return body.counters?.[name] ?? 0;
}

describe('one owner per address', () => {
  it("merchant A cannot take merchant B's deposit address as a cold wallet; B's customer pays B, A's books stay empty", async () => {
    const a = await stack.newMerchant('Hijacker');
    const b = await stack.newMerchant('Victim');
    const p = await createPayment(b, '0.1');

    // The API refuses the second owner, in any spelling.
    for (const address of [p.address, p.address.toLowerCase()]) {
      const res = await gql(stack.url, COLD, { i: { networkId: 'dev-evm', address } }, a.secret);
      expect(codeOf(res)).toBe('CONFLICT');
    }
    // Even a forged address.created naming A for B's address (as a compromised address service
    // might send) does not move the tracker's watch: the first owner keeps it.
    const refusedBefore = await counter(tracker.port, 'tracker.address.second_owner_refused');
    await stack.bus.publish(
      'address.created',
      { addressId: randomUUID(), merchantId: a.id, address: p.address, type: 'COLD', networks: ['dev-evm'], coins: ['dev-evm:ETH', 'dev-evm:USDT'] },
      { id: randomUUID(), key: randomUUID() },
    );
    await eventually(
      async () => (await counter(tracker.port, 'tracker.address.second_owner_refused')) > refusedBefore,
      'the tracker refused the second owner',
      15_000,
      100,
    );

    await evmDev.fund(p.address, 'dev-evm:ETH', ETH / 10n);
    await eventually(async () => (await paymentStatus(b, p.id)) === 'PAID', "B's payment PAID", 30_000, 200);
    await eventually(async () => (await balances(b)).find((x) => x.coin.id === 'dev-evm:ETH')?.available === '0.1', 'B credited', 30_000, 200);
    expect(await balances(a)).toEqual([]);
    expect((await as(a.secret, '{ addresses { nodes { id } } }')).addresses.nodes).toEqual([]);
  });
});

describe('cold wallets are withdrawal destinations', () => {
  it('ADDRESSES_WRITE alone can neither register a cold wallet nor point a policy at one', async () => {
    const m = await stack.newMerchant('Scopes');
    const key = (await as(m.secret, 'mutation { createApiKey(input: { label: "addr", scopes: [READ, ADDRESSES_WRITE] }) { secret } }')).createApiKey.secret;
    const cold = await gql(stack.url, COLD, { i: { networkId: 'dev-evm', address: Wallet.createRandom().address } }, key);
    expect(codeOf(cold)).toBe('FORBIDDEN');
    const mine = (await as(m.secret, COLD, { i: { networkId: 'dev-evm', address: Wallet.createRandom().address } })).registerColdWallet;
    const pointed = await gql(stack.url, POLICY, { i: { coinId: 'dev-evm:ETH', collectThreshold: '0.01', hotTarget: '0', coldWalletId: mine.id } }, key);
    expect(codeOf(pointed)).toBe('FORBIDDEN');
    // Without a cold wallet the policy keeps funds in the merchant's own wallets: ADDRESSES_WRITE is enough.
    expect((await as(key, POLICY, { i: { coinId: 'dev-evm:ETH', collectThreshold: '0.01', hotTarget: '1' } })).setCollectionPolicy.coldWallet).toBeNull();
  });

  it('a sanctioned address is refused with the reasons and nothing is stored', async () => {
    const m = await stack.newMerchant('Sanctioned');
    const res = await gql(stack.url, COLD, { i: { networkId: 'dev-evm', address: OFAC_ETH } }, m.secret);
    expect(codeOf(res)).toBe('FORBIDDEN');
    expect(JSON.stringify(res.errors?.[0]?.extensions?.reasons)).toMatch(/sanction|OFAC/i);
    expect((await as(m.secret, '{ addresses(filter: { type: COLD }) { nodes { id } } }')).addresses.nodes).toEqual([]);
  });

  it('a new cold wallet receives nothing while it cools off (collector and signer refuse); once the operator approves, the surplus is forwarded, custody shows it and the books match the hot side', async () => {
    const m = await stack.newMerchant('Cold storage');
    const hot = (await as(m.secret, 'mutation { createAddress(input: { networkId: "dev-evm", type: HOT }) { id address } }')).createAddress;
    const coldAddress = Wallet.createRandom().address;
    const cold = (await as(m.secret, COLD, { i: { networkId: 'dev-evm', address: coldAddress } })).registerColdWallet;
    expect(cold.coldWalletStatus).toBe('COOLING_OFF');
    // Default cooling-off: 24 h.
    expect(new Date(cold.usableFrom).getTime() - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
    await as(m.secret, POLICY, { i: { coinId: 'dev-evm:ETH', collectThreshold: '0.01', hotTarget: '0', coldWalletId: cold.id, maxFeeRatio: '0.05' } });

    // Cooling off: the whole deposit goes to HOT, nothing to the cold wallet.
    const first = await createPayment(m, '0.3');
    await evmDev.fund(first.address, 'dev-evm:ETH', (3n * ETH) / 10n);
    await eventually(async () => (await paymentStatus(m, first.id)) === 'PAID', 'first payment PAID', 30_000, 200);
    await eventually(async () => (await sweeps(m)).some((s) => s.status === 'CONFIRMED'), 'the first sweep confirmed', 60_000, 300);
    expect((await sweeps(m)).map((s) => [s.kind, s.toAddress])).toEqual([['sweep', hot.address]]);
    expect(await ethOf(coldAddress)).toBe(0n);

    // The signer refuses too, whoever asks: its owner check sees the wallet's status.
    const [hotRow] = await stack.subgraphs.address.orm.em
      .fork()
      .execute<{ signer_key_id: string }[]>(`select signer_key_id from address.addresses where id = ?`, [hot.id]);
    const refusal = await stack.bus
      .request(
        'signer.collect_sign',
        {
          kind: 'transfer',
          merchantId: m.id,
          networkId: 'dev-evm',
          requestId: randomUUID(),
          from: { type: 'KEY', keyId: hotRow!.signer_key_id, address: hot.address },
          to: coldAddress,
          coinId: 'dev-evm:ETH',
          amount: '1000',
          sweepAll: false,
        },
        10_000,
      )
      .then(
        () => 'signed',
        (err: Error) => err.message,
      );
    expect(refusal).toMatch(/refused: destination .* is a COLD wallet not usable yet \(COOLING_OFF\)/);

    // A merchant cannot approve its own wallet; the operator can.
    expect(codeOf(await gql(stack.url, 'mutation($id: ID!) { approveColdWallet(id: $id) { id } }', { id: cold.id }, m.secret))).toBe('FORBIDDEN');
    const approved = await stack.operator('mutation($id: ID!) { approveColdWallet(id: $id) { coldWalletStatus usableFrom } }', { id: cold.id });
    expect(approved.data.approveColdWallet).toEqual({ coldWalletStatus: 'ACTIVE', usableFrom: null });

    const second = await createPayment(m, '0.2');
    await evmDev.fund(second.address, 'dev-evm:ETH', (2n * ETH) / 10n);
    await eventually(async () => (await paymentStatus(m, second.id)) === 'PAID', 'second payment PAID', 30_000, 200);
    await eventually(async () => (await ethOf(coldAddress)) > 0n, 'forwarded to the cold wallet', 60_000, 300);
    const lines = await reconciled(stack, m.id, ['dev-evm:ETH'], 90_000);
    const line = lines.get('dev-evm:ETH')! as unknown as { onChain: string; ledger: string; difference: string };
    const forward = (await sweeps(m)).find((s) => s.kind === 'cold_forward')!;
    expect(forward).toMatchObject({ status: 'CONFIRMED', toAddress: coldAddress });
    expect(wei(forward.amount)).toBe(await ethOf(coldAddress));

    // The books: custody holds exactly what reached the cold wallet; available is the hot side.
    // Once every credit is screened (CLEAR reaches the ledger through the payment subgraph, a hop
    // after the credit), so that `available` below is all of the hot side a withdrawal may take.
    const eth = await eventually(
      async () => (await balances(m)).find((x) => x.coin.id === 'dev-evm:ETH' && x.custody !== '0' && x.held === '0' && x.pending === '0'),
      'custody posted, nothing held or pending',
      30_000,
      200,
    );
    expect(wei(eth.custody)).toBe(await ethOf(coldAddress));
    // Available (with pending and held) is exactly the hot side's chain balance the reconciliation read (HOT and the USER addresses).
    expect(wei(eth.available) + wei(eth.held) + wei(eth.pending)).toBe(wei(line.onChain));
    expect(line.difference).toBe('0');
    expect(line.onChain).toBe(line.ledger);
    const withCustody = await stack.operator('query($m: ID!) { reconciliation(merchantId: $m) { coin { id } custody } }', { m: m.id });
    expect(withCustody.data.reconciliation).toContainEqual({ coin: { id: 'dev-evm:ETH' }, custody: eth.custody });

    // A withdrawal cannot reach into cold storage: more than available is refused.
    const over = (wei(eth.available) + ETH / 100n).toString();
    const res = await gql(
      stack.url,
      'mutation($i: RequestWithdrawalInput!) { requestWithdrawal(input: $i) { id status } }',
      {
        i: {
          coinId: 'dev-evm:ETH',
          toAddress: Wallet.createRandom().address,
          amount: `${over.slice(0, -18) || '0'}.${over.slice(-18).padStart(18, '0')}`,
          idempotencyKey: randomUUID(),
        },
      },
      m.secret,
    );
    expect(codeOf(res)).toBe('INSUFFICIENT_FUNDS');
  });
});
