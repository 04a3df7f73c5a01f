import { getNetwork, type NetworkConfig } from '@cpg/chains';
import { EvmDevControls, deployDevUsdt, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { createRpcPool } from '@cpg/chains/rpc';
import { eventually, gql } from '@cpg/devkit/testing';
import { type RunningTracker, startTrackerWorker } from '@cpg/worker-tracker/src/worker';
import { type Stack, startStack } from './support/stack';

/**
 * The whole path on real parts: a payment created through the gateway, paid on a real EVM chain
 * (anvil), seen by the tracker, matched by the payment subgraph, credited once by the ledger.
 */
let stack: Stack;
let anvil: Awaited<ReturnType<typeof startAnvil>>;
let tracker: RunningTracker;
let controls: EvmDevControls;

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 });
  await deployDevUsdt(anvil.rpcUrl);
  stack = await startStack();
  const base = getNetwork('dev-evm');
  const network: NetworkConfig = { ...base, confirmations: 2, rpc: [{ url: anvil.rpcUrl, supportsTracing: true, supportsBlockReceipts: true }] };
  tracker = await startTrackerWorker(stack.env.workerConfig(stack.env.natsAuth('tracker')), { networks: [network], log: stack.env.log, leaseTtlMs: false });
  controls = new EvmDevControls(network, createRpcPool(network.rpc));
});

afterAll(async () => {
  await tracker?.stop();
  await stack?.stop();
  await anvil?.stop();
});

const PAYMENT = '{ status amountReceived amountConfirmed amountDue deposits { txHash confirmations status amount } }';

describe('a payment paid on chain', () => {
  it('goes PENDING -> CONFIRMING -> PAID at the configured depth and credits the merchant once', async () => {
    const m = await stack.newMerchant('Chain shop');
    const created = await gql(
      stack.url,
      'mutation { createPayment(input: { coinId: "dev-evm:USDT", amount: "12.5", orderId: "chain-1" }) { id address { address } } }',
      {},
      m.secret,
    );
    expect(created.errors).toBeUndefined();
    const { id, address } = created.data.createPayment;
    const read = async () => (await gql(stack.url, `{ payment(id: "${id}") ${PAYMENT} me { balances { coin { id } available pending } } }`, {}, m.secret)).data;

    const txHash = await controls.fund(address.address, 'dev-evm:USDT', 12_500_000n);
    const seen = await eventually(
      async () => {
        const d = await read();
        return d.payment.status === 'CONFIRMING' ? d : undefined;
      },
      'CONFIRMING after one block',
      20_000,
    );
    expect(seen.payment.deposits).toEqual([{ txHash, confirmations: 1, status: 'SEEN', amount: '12.5' }]);
    // The ledger follows the payment through its own consumer: eventually, not in the same instant.
    await eventually(
      async () => {
        const b = (await read()).me.balances;
        return b.length === 1 && b[0].pending === '12.5' && b[0].available === '0';
      },
      'the pending credit',
      10_000,
    );

    await controls.mine(1);
    const paid = await eventually(
      async () => {
        const d = await read();
        return d.payment.status === 'PAID' ? d : undefined;
      },
      'PAID at depth 2',
      20_000,
    );
    expect(paid.payment).toMatchObject({ amountReceived: '12.5', amountConfirmed: '12.5', amountDue: '0' });
    await eventually(async () => (await read()).me.balances[0]?.available === '12.5', 'the available credit', 10_000);

    // More blocks change nothing: the credit happened exactly once.
    await controls.mine(3);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await read()).me.balances).toEqual([{ coin: { id: 'dev-evm:USDT' }, available: '12.5', pending: '0' }]);
  });

  it('a reorg that drops the payment block takes the credit back out', async () => {
    const m = await stack.newMerchant('Reorg shop');
    const created = await gql(
      stack.url,
      'mutation { createPayment(input: { coinId: "dev-evm:ETH", amount: "0.5" }) { id address { address } } }',
      {},
      m.secret,
    );
    const { id, address } = created.data.createPayment;
    await controls.fund(address.address, 'dev-evm:ETH', 5n * 10n ** 17n);
    await controls.mine(1);
    await eventually(async () => (await gql(stack.url, `{ payment(id: "${id}") { status } }`, {}, m.secret)).data.payment.status === 'PAID', 'PAID', 20_000);

    // Replace the last 2 blocks (the funding block and the one after) with empty ones.
    await controls.reorg(2);
    await controls.mine(1);
    const after = await eventually(
      async () => {
        const d = (
          await gql(stack.url, `{ payment(id: "${id}") { status amountReceived deposits { status } } me { balances { available pending } } }`, {}, m.secret)
        ).data;
        // The payment row and its deposits are read by two resolvers: a read between them and the
        // commit can see the deposit REORGED and the payment still PAID. Wait for both.
        return d.payment.deposits.every((x: { status: string }) => x.status === 'REORGED') && d.payment.status !== 'PAID' ? d : undefined;
      },
      'the deposit to be marked REORGED',
      20_000,
    );
    expect(after.payment).toMatchObject({ status: 'PENDING', amountReceived: '0' });
    const balances = async () => (await gql(stack.url, '{ me { balances { available pending } } }', {}, m.secret)).data.me.balances;
    await eventually(
      async () => {
        const b = await balances();
        return b[0]?.available === '0' && b[0]?.pending === '0';
      },
      'the reversal in the ledger',
      10_000,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message}: balances are ${JSON.stringify(await balances())}`);
    });
  });
});
