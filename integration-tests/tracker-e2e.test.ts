import { type ChildProcess, spawn } from 'node:child_process';
import type { Envelope, EventData } from '@cpg/core/bus';
import { getNetwork, type NetworkConfig, type RpcTransport } from '@cpg/chains';
import { EvmDevControls, anvilAccount, anvilBinary, deployDevUsdt, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { createRpcPool } from '@cpg/chains/rpc';
import { freePort, waitForTcp } from '@cpg/devkit/services';
import { eventually, gql } from '@cpg/devkit/testing';
import { type RunningTracker, startTrackerWorker } from '@cpg/worker-tracker/src/worker';
import { type Stack, startStack } from './support/stack';

/**
 * Addresses made through the gateway, followed by a real tracker on real anvils: COMMON and CROSS
 * addresses, Network.status fed by the tracker, and a transfer between the merchant's own
 * addresses that is tagged internal and credits nothing. A second anvil with chain id 1 stands in
 * for `ethereum`.
 */

type TransferEvent = EventData<'chain.transfer.seen'>;
type Kind = 'seen' | 'confirmed' | 'reorged';

let stack: Stack;
let devAnvil: Awaited<ReturnType<typeof startAnvil>>;
let ethAnvil: { rpcUrl: string; child: ChildProcess; exited: Promise<void> } | undefined;
let tracker: RunningTracker;
let dev: EvmDevControls;
let devRpc: RpcTransport;
let ethRpc: RpcTransport;
let devNet: NetworkConfig;
let ethNet: NetworkConfig;
const transfers: { kind: Kind; data: TransferEvent }[] = [];
const savedEthRpc = process.env.CHAIN_RPC_ETHEREUM;

/** anvil with chain id 1 (startAnvil only makes 31337 chains); stopped by its PID in afterAll. */
async function startMainnetLikeAnvil(): Promise<NonNullable<typeof ethAnvil>> {
  const port = await freePort();
  const child = spawn(anvilBinary(), ['--host', '127.0.0.1', '--port', String(port), '--chain-id', '1', '--silent'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const handle = { rpcUrl: `http://127.0.0.1:${port}`, child, exited };
  ethAnvil = handle; // stopped by afterAll even when the checks below fail
  await waitForTcp('127.0.0.1', port, 15_000);
  const chainId = Number(await createRpcPool([{ url: handle.rpcUrl }]).call<string>('eth_chainId'));
  if (chainId !== 1) throw new Error(`second anvil reports chain id ${chainId}`);
  return handle;
}

async function stopMainnetLikeAnvil(): Promise<void> {
  const a = ethAnvil;
  if (!a?.child.pid || a.child.exitCode !== null || a.child.signalCode !== null) return;
  process.kill(a.child.pid, 'SIGTERM');
  const killLater = setTimeout(() => a.child.pid && process.kill(a.child.pid, 'SIGKILL'), 3000);
  await a.exited;
  clearTimeout(killLater);
}

beforeAll(async () => {
  const [, eth] = await Promise.all([startAnvil({ port: 0 }).then((a) => (devAnvil = a)), startMainnetLikeAnvil()]);
  await deployDevUsdt(devAnvil.rpcUrl);
  // ethereum is on in the address subgraph's catalogue once it has an RPC endpoint.
  process.env.CHAIN_RPC_ETHEREUM = eth.rpcUrl;
  stack = await startStack();

  devNet = { ...getNetwork('dev-evm'), confirmations: 2, rpc: [{ url: devAnvil.rpcUrl, supportsTracing: true, supportsBlockReceipts: true }] };
  // Mainnet's 12 confirmations and 12 s blocks would only slow the test down.
  ethNet = { ...getNetwork('ethereum'), confirmations: 2, blockTimeSeconds: 1, rpc: [{ url: eth.rpcUrl }] };
  devRpc = createRpcPool(devNet.rpc);
  ethRpc = createRpcPool(ethNet.rpc);
  dev = new EvmDevControls(devNet, devRpc);

  await stack.bus.consume({
    durable: 'tracker-e2e',
    types: ['chain.transfer.seen', 'chain.transfer.confirmed', 'chain.transfer.reorged'],
    filter: 'chain.>',
    retryBaseMs: 50,
    handler: async (e: Envelope<TransferEvent>) => {
      transfers.push({ kind: e.type.slice('chain.transfer.'.length) as Kind, data: e.data });
    },
  });

  // Scanning starts at the next block of each chain, so nothing sent by the test can fall before the cursor.
  const [devTip, ethTip] = await Promise.all([devRpc.call<string>('eth_blockNumber'), ethRpc.call<string>('eth_blockNumber')]);
  tracker = await startTrackerWorker(stack.env.workerConfig(stack.env.natsAuth('tracker')), {
    networks: [devNet, ethNet],
    log: stack.env.log,
    leaseTtlMs: false,
    startHeights: { 'dev-evm': Number(devTip) + 1, ethereum: Number(ethTip) + 1 },
    scanner: { statusIntervalMs: 500 },
  });
}, 60_000);

afterAll(async () => {
  await tracker?.stop();
  await stack?.stop();
  if (savedEthRpc === undefined) delete process.env.CHAIN_RPC_ETHEREUM;
  else process.env.CHAIN_RPC_ETHEREUM = savedEthRpc;
  await devAnvil?.stop();
  await stopMainnetLikeAnvil();
});

interface AddressOut {
  id: string;
  address: string;
  type: string;
  network: { id: string };
  coins: { id: string }[];
}

const CREATE = 'mutation($input: CreateAddressInput!) { createAddress(input: $input) { id address type network { id } coins { id } } }';
const coinIds = (a: AddressOut) => a.coins.map((c) => c.id).sort();

async function create(secret: string, input: Record<string, unknown>): Promise<AddressOut> {
  const res = await gql(stack.url, CREATE, { input }, secret);
  if (!res.data) throw new Error(`createAddress failed: ${JSON.stringify(res.errors)}`);
  return res.data.createAddress;
}

/** Sets the mode, then creates an address once the address subgraph has applied it (until then SINGLE refuses a missing coinId). */
async function createInMode(secret: string, mode: 'COMMON' | 'CROSS', input: Record<string, unknown>): Promise<AddressOut> {
  const set = await gql(
    stack.url,
    'mutation($m: AddressMode!) { updateMerchantSettings(input: { addressMode: $m }) { settings { addressMode } } }',
    { m: mode },
    secret,
  );
  expect(set.data?.updateMerchantSettings.settings.addressMode).toBe(mode);
  return eventually(
    async () => {
      const res = await gql(stack.url, CREATE, { input }, secret);
      if (res.data) return res.data.createAddress as AddressOut;
      expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      return undefined;
    },
    `the ${mode} mode to reach the address subgraph`,
    15_000,
    100,
  );
}

function events(kind: Kind, txHash: string, network?: string): TransferEvent[] {
  return transfers
    .filter((t) => t.kind === kind && t.data.txHash.toLowerCase() === txHash.toLowerCase() && (!network || t.data.network === network))
    .map((t) => t.data);
}

async function waitEvent(kind: Kind, txHash: string, network: string, timeoutMs = 15_000): Promise<TransferEvent> {
  const [e] = await eventually(
    async () => {
      const found = events(kind, txHash, network);
      return found.length ? found : undefined;
    },
    `chain.${network}.transfer.${kind} of ${txHash}`,
    timeoutMs,
  );
  return e!;
}

async function receiptOf(rpc: RpcTransport, txHash: string): Promise<{ status: string; blockNumber: string }> {
  return eventually(() => rpc.call<{ status: string; blockNumber: string } | null>('eth_getTransactionReceipt', [txHash]), `receipt of ${txHash}`, 10_000);
}

/** Sends ETH from an account the node signs for (anvil's own accounts, or an impersonated one). */
async function sendEth(rpc: RpcTransport, from: string, to: string, wei: bigint): Promise<string> {
  const txHash = await rpc.call<string>('eth_sendTransaction', [{ from, to, value: `0x${wei.toString(16)}` }]);
  expect((await receiptOf(rpc, txHash)).status).toBe('0x1');
  return txHash.toLowerCase();
}

const mine = (rpc: RpcTransport, blocks: number) => rpc.call('anvil_mine', [`0x${blocks.toString(16)}`]);
const ETH = 10n ** 18n;

describe('tracker end to end, addresses made through the gateway', () => {
  it('a COMMON address receives ETH and USDT; both are seen, then confirmed, attributed to it', async () => {
    const m = await stack.newMerchant('Common shop');
    const a = await createInMode(m.secret, 'COMMON', { networkId: 'dev-evm' });
    expect(a).toMatchObject({ type: 'USER', network: { id: 'dev-evm' } });
    expect(coinIds(a)).toEqual(['dev-evm:ETH', 'dev-evm:USDT']);

    const ethTx = (await dev.fund(a.address, 'dev-evm:ETH', ETH / 4n)).toLowerCase();
    const usdtTx = (await dev.fund(a.address, 'dev-evm:USDT', 7_000_000n)).toLowerCase();
    const attributed = { network: 'dev-evm', addressId: a.id, merchantId: m.id, to: a.address, internal: false };
    const ethSeen = await waitEvent('seen', ethTx, 'dev-evm');
    const usdtSeen = await waitEvent('seen', usdtTx, 'dev-evm');
    expect(ethSeen).toMatchObject({ ...attributed, coinId: 'dev-evm:ETH', amount: (ETH / 4n).toString() });
    expect(usdtSeen).toMatchObject({ ...attributed, coinId: 'dev-evm:USDT', amount: '7000000' });
    expect(ethSeen.confirmations).toBeGreaterThanOrEqual(1);

    await mine(devRpc, 2);
    const ethConfirmed = await waitEvent('confirmed', ethTx, 'dev-evm');
    const usdtConfirmed = await waitEvent('confirmed', usdtTx, 'dev-evm');
    expect(ethConfirmed).toMatchObject({ ...attributed, coinId: 'dev-evm:ETH', blockHash: ethSeen.blockHash });
    expect(usdtConfirmed).toMatchObject({ ...attributed, coinId: 'dev-evm:USDT', blockHash: usdtSeen.blockHash });
    expect(ethConfirmed.confirmations).toBeGreaterThanOrEqual(2);
    // One event per kind and transfer.
    expect(events('seen', ethTx)).toHaveLength(1);
    expect(events('seen', usdtTx)).toHaveLength(1);
  });

  it('a CROSS address spans dev-evm and ethereum; ETH sent to it on both chains is seen on both', async () => {
    const m = await stack.newMerchant('Cross shop');
    const a = await createInMode(m.secret, 'CROSS', { networkId: 'dev-evm' });
    expect(coinIds(a)).toEqual(expect.arrayContaining(['dev-evm:ETH', 'dev-evm:USDT', 'ethereum:ETH', 'ethereum:USDC', 'ethereum:USDT']));

    const onDev = (await dev.fund(a.address, 'dev-evm:ETH', ETH / 10n)).toLowerCase();
    const onEth = await sendEth(ethRpc, anvilAccount(1).address, a.address, ETH / 5n);
    const attributed = { addressId: a.id, merchantId: m.id, to: a.address, internal: false };
    expect(await waitEvent('seen', onDev, 'dev-evm')).toMatchObject({
      ...attributed,
      network: 'dev-evm',
      coinId: 'dev-evm:ETH',
      amount: (ETH / 10n).toString(),
    });
    expect(await waitEvent('seen', onEth, 'ethereum')).toMatchObject({
      ...attributed,
      network: 'ethereum',
      coinId: 'ethereum:ETH',
      amount: (ETH / 5n).toString(),
    });
    await mine(ethRpc, 2);
    expect(await waitEvent('confirmed', onEth, 'ethereum')).toMatchObject({ ...attributed, network: 'ethereum', coinId: 'ethereum:ETH' });
  });

  it('Network.status of dev-evm shows the heights the tracker reports', async () => {
    const tip = Number(await devRpc.call<string>('eth_blockNumber'));
    const STATUS = '{ network(id: "dev-evm") { status { available scannedHeight tipHeight lagBlocks } } }';
    const status = await eventually(
      async () => {
        const s = (await gql(stack.url, STATUS)).data?.network?.status;
        return s?.available && s.scannedHeight !== null && s.scannedHeight >= tip ? s : undefined;
      },
      `dev-evm status at height ${tip}`,
      15_000,
      100,
    );
    expect(status.tipHeight).toBeGreaterThanOrEqual(status.scannedHeight);
    expect(status.lagBlocks).toBe(status.tipHeight - status.scannedHeight);
  });

  it('a transfer from the merchant HOT address to its USER address is internal and credits nothing', async () => {
    const m = await stack.newMerchant('Own funds shop');
    const pay = await gql(
      stack.url,
      'mutation { createPayment(input: { coinId: "dev-evm:ETH", amount: "0.5" }) { id address { id address type } } }',
      {},
      m.secret,
    );
    expect(pay.errors).toBeUndefined();
    const payment = pay.data.createPayment as { id: string; address: { id: string; address: string; type: string } };
    expect(payment.address.type).toBe('USER');
    const hot = await create(m.secret, { networkId: 'dev-evm', type: 'HOT' });
    expect(hot.type).toBe('HOT');

    // The HOT key lives on the signer side: fund it without a transfer and let anvil sign for it.
    await devRpc.call('anvil_setBalance', [hot.address, `0x${ETH.toString(16)}`]);
    await devRpc.call('anvil_impersonateAccount', [hot.address]);
    const tx = await sendEth(devRpc, hot.address, payment.address.address, ETH / 2n);
    await devRpc.call('anvil_stopImpersonatingAccount', [hot.address]);

    const own = {
      network: 'dev-evm',
      addressId: payment.address.id,
      merchantId: m.id,
      from: hot.address,
      coinId: 'dev-evm:ETH',
      amount: (ETH / 2n).toString(),
      internal: true,
    };
    expect(await waitEvent('seen', tx, 'dev-evm')).toMatchObject(own);
    await mine(devRpc, 2);
    expect(await waitEvent('confirmed', tx, 'dev-evm')).toMatchObject(own);

    // The payment subgraph takes chain events in order: once another merchant's later deposit is
    // applied, the internal transfer has been handled too.
    const other = await stack.newMerchant('Sentinel shop');
    const sentinel = await gql(
      stack.url,
      'mutation { createPayment(input: { coinId: "dev-evm:ETH", amount: "0.1" }) { id address { address } } }',
      {},
      other.secret,
    );
    await dev.fund(sentinel.data.createPayment.address.address, 'dev-evm:ETH', ETH / 10n);
    await eventually(
      async () => (await gql(stack.url, `{ payment(id: "${sentinel.data.createPayment.id}") { status } }`, {}, other.secret)).data.payment.status !== 'PENDING',
      'the sentinel payment to see its deposit',
      20_000,
    );

    const read = await gql(
      stack.url,
      `{ payment(id: "${payment.id}") { status amountReceived deposits { txHash } } me { balances { coin { id } available pending } } }`,
      {},
      m.secret,
    );
    expect(read.errors).toBeUndefined();
    expect(read.data.payment).toEqual({ status: 'PENDING', amountReceived: '0', deposits: [] });
    expect(read.data.me.balances.filter((b: { available: string; pending: string }) => b.available !== '0' || b.pending !== '0')).toEqual([]);
  });
});
