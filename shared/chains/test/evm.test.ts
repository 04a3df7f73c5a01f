import { HDNodeWallet, Interface, Mnemonic, randomBytes, Transaction, Wallet } from 'ethers';
import { evmCodec } from '../src/evm/codec';
import { DEV_USDT, TEST_FORWARDER, TEST_REVERTER } from '../src/evm/contracts';
import { anvilAccount, deployDevUsdt, ensureDevEvm, EvmDevControls, sendUnsimulated, startAnvil, type AnvilHandle } from '@cpg/devkit/chains/evm/dev';
import { INTERNAL_INDEX_BASE } from '../src/evm/extract';
import { NonceManager } from '../src/evm/nonces';
import type { RawReceipt } from '../src/evm/raw';
import { ERC20, EvmSigner, waitForReceipt } from '../src/evm/signer';
import { EvmWatcher } from '../src/evm/watcher';
import { DEV_EVM_USDT_ADDRESS, getNetwork } from '../src/networks';
import { createRpcPool } from '../src/rpc';
import type { NetworkConfig, RpcTransport, SigningKey, Transfer } from '../src/types';
import { pidAlive } from '@cpg/devkit/services/child-processes';
import { freePort } from '@cpg/devkit/services/tcp';

// One anvil for this file, on a free port, stopped by its PID at the end. Anvil automines: each
// transaction gets its own block as soon as it is sent.

const ETH = 'dev-evm:ETH';
const USDT = 'dev-evm:USDT';
const ONE_ETH = 10n ** 18n;

let anvil: AnvilHandle;
let network: NetworkConfig;
let transport: RpcTransport;
let watcher: EvmWatcher;
let controls: EvmDevControls;
let nonces: NonceManager;
let signer: EvmSigner;
const faucet = anvilAccount(0);
const hot = anvilAccount(1);

const randomAddress = () => Wallet.createRandom().address;

async function mined(txHash: string): Promise<RawReceipt> {
  const receipt = await waitForReceipt(transport, txHash, { timeoutMs: 10_000, intervalMs: 20 });
  if (!receipt) throw new Error(`${txHash} not mined`);
  return receipt;
}

/** Broadcasts, waits, and returns the transfers the watcher reports for the transaction's block. */
async function send(tx: { txHash: string; raw: string }, via = signer): Promise<{ receipt: RawReceipt; transfers: Transfer[] }> {
  await via.broadcast({ ...tx, fee: { fee: 0n, detail: {} } });
  const receipt = await mined(tx.txHash);
  const block = await watcher.getBlockTransfers(Number(receipt.blockNumber));
  expect(block.hash).toBe(receipt.blockHash);
  return { receipt, transfers: block.transfers };
}

/** A transaction signed without simulation, so that one that reverts still lands on chain. */
const forceOnChain = (key: SigningKey, to: string, data: string, value: bigint) => sendUnsimulated(transport, key, to, data, value);

async function deploy(key: SigningKey, bytecode: string): Promise<string> {
  const { tx, address } = await signer.signDeployment(key, bytecode);
  const { receipt } = await send(tx);
  expect(receipt.status).toBe('0x1');
  return address;
}

const tokenBalance = async (owner: string, token = DEV_EVM_USDT_ADDRESS) =>
  BigInt(await transport.call<string>('eth_call', [{ to: token, data: ERC20.encodeFunctionData('balanceOf', [owner]) }, 'latest']));
const balance = async (owner: string) => BigInt(await transport.call<string>('eth_getBalance', [owner, 'latest']));

beforeAll(async () => {
  anvil = await startAnvil({ port: 0 });
  await deployDevUsdt(anvil.rpcUrl);
  await deployDevUsdt(anvil.rpcUrl); // idempotent: the code is there, nothing is sent
  network = getNetwork('dev-evm', { DEV_EVM_RPC_URL: anvil.rpcUrl });
  transport = createRpcPool(network.rpc);
  watcher = new EvmWatcher(network, transport, { pollIntervalMs: 50 });
  controls = new EvmDevControls(network, transport);
  nonces = new NonceManager(transport);
  signer = new EvmSigner(network, transport, { nonces });
});

afterAll(async () => {
  await watcher?.close();
  if (anvil) {
    await anvil.stop();
    expect(pidAlive(anvil.pid)).toBe(false);
  }
});

describe('dev chain', () => {
  it('has DevUSDT at the catalogue address, deployed by account 0 which holds the supply', async () => {
    expect(await transport.call<string>('eth_chainId')).toBe('0x7a69');
    expect(Number(await transport.call<string>('eth_getTransactionCount', [faucet.address, 'latest']))).toBe(1);
    const usdt = new Interface(DEV_USDT.abi as string[]);
    const call = async (fn: string) =>
      usdt.decodeFunctionResult(fn, await transport.call<string>('eth_call', [{ to: DEV_EVM_USDT_ADDRESS, data: usdt.encodeFunctionData(fn) }, 'latest']))[0];
    expect(await call('decimals')).toBe(6n);
    expect(await call('symbol')).toBe('USDT');
    expect(await tokenBalance(faucet.address)).toBe(await call('totalSupply'));
  });
});

describe('round trip: derive, receive, spend', () => {
  const mnemonic = Mnemonic.fromEntropy(randomBytes(16));
  const account = HDNodeWallet.fromMnemonic(mnemonic, "m/44'/60'/0'");
  const xpub = account.neuter().extendedKey;

  it('sees exactly the funding transfers to a derived address, and the address can spend them', async () => {
    const derived = evmCodec.deriveAddress(network, xpub, 3);
    const child = account.derivePath('0/3');
    expect(derived.address).toBe(child.address);

    const ethTx = await controls.fund(derived.address, ETH, 2n * ONE_ETH);
    const ethReceipt = await mined(ethTx);
    const ethBlock = await watcher.getBlockTransfers(Number(ethReceipt.blockNumber));
    expect(ethBlock.transfers).toEqual([
      {
        network: 'dev-evm',
        txHash: ethTx,
        index: INTERNAL_INDEX_BASE,
        from: faucet.address,
        to: derived.address,
        coinId: ETH,
        amount: 2n * ONE_ETH,
        blockHeight: ethBlock.height,
        blockHash: ethBlock.hash,
      },
    ]);
    expect(ethBlock.height).toBe(Number(await transport.call<string>('eth_blockNumber')));

    const usdtTx = await controls.fund(derived.address, USDT, 250_000_000n);
    const usdtBlock = await watcher.getBlockTransfers(Number((await mined(usdtTx)).blockNumber));
    expect(usdtBlock.parentHash).toBe(ethBlock.hash);
    expect(usdtBlock.transfers).toEqual([
      {
        network: 'dev-evm',
        txHash: usdtTx,
        index: 0,
        from: faucet.address,
        to: derived.address,
        coinId: USDT,
        amount: 250_000_000n,
        blockHeight: usdtBlock.height,
        blockHash: usdtBlock.hash,
      },
    ]);

    const key: SigningKey = { address: derived.address, privateKey: Buffer.from(child.privateKey.slice(2), 'hex') };
    const payee = randomAddress();
    const fee = await signer.estimateFee(derived.address, [{ to: payee, coinId: ETH, amount: ONE_ETH / 2n }]);
    expect(fee.detail.gasLimit).toBe('21000');
    expect(fee.fee).toBe(21_000n * BigInt(fee.detail.maxFeePerGas!));

    const spendEth = await signer.sign(key, [{ to: payee, coinId: ETH, amount: ONE_ETH / 2n }]);
    const spentEth = await send(spendEth);
    expect(spentEth.receipt.status).toBe('0x1');
    expect(spentEth.transfers).toEqual([
      expect.objectContaining({ txHash: spendEth.txHash, index: INTERNAL_INDEX_BASE, from: derived.address, to: payee, coinId: ETH, amount: ONE_ETH / 2n }),
    ]);
    // broadcasting the same signed transaction again is a success, not an error
    expect(await signer.broadcast(spendEth)).toBe(spendEth.txHash);

    const spendUsdt = await signer.sign(key, [{ to: payee, coinId: USDT, amount: 100_000_000n }]);
    const spentUsdt = await send(spendUsdt);
    expect(spentUsdt.receipt.status).toBe('0x1');
    expect(spentUsdt.transfers).toEqual([expect.objectContaining({ index: 0, from: derived.address, to: payee, coinId: USDT, amount: 100_000_000n })]);
    expect(await tokenBalance(derived.address)).toBe(150_000_000n);
    expect(await balance(payee)).toBe(ONE_ETH / 2n);

    expect(await watcher.getTransactionStatus(spendUsdt.txHash)).toEqual({
      state: 'confirmed',
      blockHeight: Number(spentUsdt.receipt.blockNumber),
      blockHash: spentUsdt.receipt.blockHash,
    });
  });

  it('refuses a key that does not control the address it claims, naming no key material', async () => {
    const wrong: SigningKey = { address: hot.address, privateKey: faucet.privateKey };
    const attempt = signer.sign(wrong, [{ to: randomAddress(), coinId: ETH, amount: 1n }]);
    await expect(attempt).rejects.toThrow(`signing key does not control ${hot.address}`);
    await attempt.catch((err: Error) => expect(err.message).not.toContain(Buffer.from(faucet.privateKey).toString('hex')));
  });

  it('rejects a different transaction reusing a spent nonce, and re-reads the nonce afterwards', async () => {
    const stale = new EvmSigner(network, transport, { nonces: new NonceManager(transport) });
    const [first, clash] = await Promise.all([
      signer.sign(hot, [{ to: randomAddress(), coinId: ETH, amount: 1n }]),
      stale.sign(hot, [{ to: randomAddress(), coinId: ETH, amount: 2n }]),
    ]);
    expect(Transaction.from(clash.raw).nonce).toBe(Transaction.from(first.raw).nonce);
    await send(first);
    await expect(stale.broadcast(clash)).rejects.toThrow(/rejected: .*nonce too low/);
    const next = await stale.sign(hot, [{ to: randomAddress(), coinId: ETH, amount: 3n }]);
    expect(Transaction.from(next.raw).nonce).toBe(Transaction.from(first.raw).nonce + 1);
    expect((await send(next, stale)).receipt.status).toBe('0x1');
    nonces.invalidate(hot.address); // the shared manager did not see `next`
  });

  it('signs concurrent transactions of one wallet with consecutive nonces', async () => {
    const before = Number(await transport.call<string>('eth_getTransactionCount', [hot.address, 'pending']));
    const txs = await Promise.all([1n, 2n, 3n].map((n) => signer.sign(hot, [{ to: randomAddress(), coinId: ETH, amount: n }])));
    expect(txs.map((t) => Transaction.from(t.raw).nonce)).toEqual([before, before + 1, before + 2]);
    for (const tx of txs) expect((await send(tx)).receipt.status).toBe('0x1');
  });
});

describe('batch payouts through BatchTransfer', () => {
  let batchAddress: string;
  let batchSigner: EvmSigner;

  beforeAll(async () => {
    const { tx, address } = await signer.signBatchTransferDeployment(hot);
    expect((await send(tx)).receipt.status).toBe('0x1');
    batchAddress = address;
    // Same NonceManager: both signers send from the hot wallet.
    batchSigner = new EvmSigner(network, transport, { nonces, batchContract: batchAddress });
  });

  it('pays many ETH orders in one transaction; the payments show up as internal transfers', async () => {
    const payees = [randomAddress(), randomAddress(), randomAddress()];
    const amounts = [ONE_ETH, 2n * ONE_ETH, 3n];
    const tx = await batchSigner.sign(
      hot,
      payees.map((to, i) => ({ to, coinId: ETH, amount: amounts[i]! })),
    );
    const { receipt, transfers } = await send(tx, batchSigner);
    expect(receipt.status).toBe('0x1');
    const base = { network: 'dev-evm', txHash: tx.txHash, coinId: ETH, blockHeight: Number(receipt.blockNumber), blockHash: receipt.blockHash };
    expect(transfers).toEqual([
      { ...base, index: INTERNAL_INDEX_BASE, from: hot.address, to: batchAddress, amount: 3n * ONE_ETH + 3n },
      { ...base, index: INTERNAL_INDEX_BASE + 1, from: batchAddress, to: payees[0], amount: amounts[0] },
      { ...base, index: INTERNAL_INDEX_BASE + 2, from: batchAddress, to: payees[1], amount: amounts[1] },
      { ...base, index: INTERNAL_INDEX_BASE + 3, from: batchAddress, to: payees[2], amount: amounts[2] },
    ]);
    for (const [i, p] of payees.entries()) expect(await balance(p)).toBe(amounts[i]);
  });

  it('pays many USDT orders after a one-time approval; the contract-emitted logs are found', async () => {
    await mined(await controls.fund(hot.address, USDT, 1_000_000_000n));
    const payees = [randomAddress(), randomAddress(), randomAddress()];
    const orders = payees.map((to, i) => ({ to, coinId: USDT, amount: BigInt(i + 1) * 1_000_000n }));
    await expect(batchSigner.sign(hot, orders)).rejects.toThrow(/signApproval/);
    const quote = await batchSigner.estimateFee(hot.address, orders); // falls back to a formula before approval
    expect(quote.fee).toBeGreaterThan(0n);

    expect((await send(await batchSigner.signApproval(hot, USDT), batchSigner)).receipt.status).toBe('0x1');
    expect(await batchSigner.allowance(hot.address, USDT)).toBe((1n << 256n) - 1n);

    const tx = await batchSigner.sign(hot, orders);
    const { receipt, transfers } = await send(tx, batchSigner);
    expect(receipt.status).toBe('0x1');
    expect(transfers).toEqual(
      orders.map((o, i) => ({
        network: 'dev-evm',
        txHash: tx.txHash,
        index: i,
        from: hot.address,
        to: o.to,
        coinId: USDT,
        amount: o.amount,
        blockHeight: Number(receipt.blockNumber),
        blockHash: receipt.blockHash,
      })),
    );
    for (const o of orders) expect(await tokenBalance(o.to)).toBe(o.amount);
  });

  it('refuses orders of mixed coins in one transaction', async () => {
    await expect(
      batchSigner.sign(hot, [
        { to: randomAddress(), coinId: ETH, amount: 1n },
        { to: randomAddress(), coinId: USDT, amount: 1n },
      ]),
    ).rejects.toThrow(/one coin/);
  });
});

describe('what the watcher must not (or must) count', () => {
  const forwarder = new Interface(TEST_FORWARDER.abi as string[]);
  let forwarderAddress: string;
  beforeAll(async () => {
    forwarderAddress = await deploy(hot, TEST_FORWARDER.bytecode);
  });

  it('ignores an unregistered ERC-20 that calls itself USDT', async () => {
    const impostor = anvilAccount(3);
    const { tx, address } = await signer.signDeployment(impostor, DEV_USDT.bytecode);
    const deployed = await send(tx);
    expect(deployed.transfers).toEqual([]); // its constructor's mint log is not ours either
    const symbol = await transport.call<string>('eth_call', [
      { to: address, data: new Interface(DEV_USDT.abi as string[]).encodeFunctionData('symbol') },
      'latest',
    ]);
    expect(new Interface(DEV_USDT.abi as string[]).decodeFunctionResult('symbol', symbol)[0]).toBe('USDT');

    const fake = await signer.signContractCall(impostor, address, ERC20.encodeFunctionData('transfer', [randomAddress(), 5_000_000n]));
    const { receipt, transfers } = await send(fake);
    expect(receipt.status).toBe('0x1');
    expect(receipt.logs).toHaveLength(1);
    expect(transfers).toEqual([]);
  });

  it('ignores reverted transactions: ETH to a contract that refuses it, USDT beyond the balance', async () => {
    const reverter = await deploy(hot, TEST_REVERTER.bytecode);
    // The signer simulates first and will not sign a transaction that fails...
    await expect(signer.sign(hot, [{ to: reverter, coinId: ETH, amount: ONE_ETH }])).rejects.toThrow(/simulation/);
    // ...so these are forced on chain without simulation.
    const payer = anvilAccount(4);
    for (const hash of [
      await forceOnChain(payer, reverter, '0x', ONE_ETH),
      await forceOnChain(payer, DEV_EVM_USDT_ADDRESS, ERC20.encodeFunctionData('transfer', [randomAddress(), 1n]), 0n),
    ]) {
      const receipt = await mined(hash);
      expect(receipt.status).toBe('0x0');
      expect((await watcher.getBlockTransfers(Number(receipt.blockNumber))).transfers).toEqual([]);
    }
  });

  it('finds a USDT transfer made by a contract on the caller’s behalf by its log', async () => {
    const payee = randomAddress();
    expect(
      (await send(await signer.signContractCall(hot, DEV_EVM_USDT_ADDRESS, ERC20.encodeFunctionData('approve', [forwarderAddress, 7_000_000n])))).receipt
        .status,
    ).toBe('0x1');
    const tx = await signer.signContractCall(hot, forwarderAddress, forwarder.encodeFunctionData('pullToken', [DEV_EVM_USDT_ADDRESS, payee, 7_000_000n]));
    const { transfers } = await send(tx);
    expect(transfers).toEqual([expect.objectContaining({ txHash: tx.txHash, index: 0, from: hot.address, to: payee, coinId: USDT, amount: 7_000_000n })]);
  });

  it('finds ETH forwarded by a contract through tracing, and skips what a reverted frame sent', async () => {
    const payee = randomAddress();
    const tx = await signer.signContractCall(hot, forwarderAddress, forwarder.encodeFunctionData('forward', [payee]), ONE_ETH);
    const forwarded = await send(tx);
    expect(forwarded.transfers.map((t) => [t.index, t.from, t.to, t.amount])).toEqual([
      [INTERNAL_INDEX_BASE, hot.address, forwarderAddress, ONE_ETH],
      [INTERNAL_INDEX_BASE + 1, forwarderAddress, payee, ONE_ETH],
    ]);

    const good = randomAddress();
    const lost = randomAddress();
    const split = await signer.signContractCall(hot, forwarderAddress, forwarder.encodeFunctionData('forwardOneOfTwo', [good, lost]), 2n * ONE_ETH);
    const { receipt, transfers } = await send(split);
    expect(receipt.status).toBe('0x1');
    // frames: 0 top, 1 sendThenRevert (reverted), 2 its call to `lost` (undone), 3 the call to `good`
    expect(transfers.map((t) => [t.index, t.from, t.to, t.amount])).toEqual([
      [INTERNAL_INDEX_BASE, hot.address, forwarderAddress, 2n * ONE_ETH],
      [INTERNAL_INDEX_BASE + 3, forwarderAddress, good, ONE_ETH],
    ]);
    expect(await balance(lost)).toBe(0n);

    // trace_block and per-transaction receipts read the same block identically
    const height = Number(receipt.blockNumber);
    const parity = new EvmWatcher(network, transport, { traceMethod: 'trace_block' });
    expect(await parity.getBlockTransfers(height)).toEqual(await watcher.getBlockTransfers(height));
    const plain = new EvmWatcher({ ...network, rpc: [{ url: anvil.rpcUrl, supportsTracing: true }] }, transport);
    expect(await plain.getBlockTransfers(height)).toEqual(await watcher.getBlockTransfers(height));
    // without tracing, only the top-level value is visible
    const blind = new EvmWatcher({ ...network, rpc: [{ url: anvil.rpcUrl }] }, transport);
    expect((await blind.getBlockTransfers(height)).transfers.map((t) => t.index)).toEqual([INTERNAL_INDEX_BASE]);
  });
});

describe('heads and reorgs', () => {
  it('wakes up on new heads by polling eth_blockNumber', async () => {
    const heights: number[] = [];
    const stop = watcher.onNewHead((h) => heights.push(h));
    try {
      const deadline = Date.now() + 5_000;
      while (heights.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const tip = await controls.mine(2);
      while (!heights.includes(tip) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(heights).toContain(tip);
    } finally {
      stop();
    }
  });

  it('wakes up on new heads from a websocket newHeads subscription when the endpoint has one', async () => {
    const wsNetwork = { ...network, rpc: [{ ...network.rpc[0]!, wsUrl: anvil.rpcUrl.replace('http://', 'ws://') }] };
    const ws = new EvmWatcher(wsNetwork, transport, { pollIntervalMs: 60_000 });
    const heights: number[] = [];
    ws.onNewHead((h) => heights.push(h));
    try {
      const deadline = Date.now() + 5_000;
      let tip = 0;
      // the subscription needs a moment to open; mine until a head arrives
      while (heights.length === 0 && Date.now() < deadline) {
        tip = await controls.mine(1);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(heights.at(-1)).toBe(tip);
    } finally {
      await ws.close();
    }
  });

  it('returns the new block at a height replaced by anvil_reorg, and the orphaned transfer is gone', async () => {
    const payee = randomAddress();
    const txHash = await controls.fund(payee, ETH, ONE_ETH);
    const height = Number((await mined(txHash)).blockNumber);
    const before = await watcher.getBlockTransfers(height);
    expect(before.transfers).toHaveLength(1);

    const tip = await controls.reorg(1);
    expect(tip).toBe(height);
    // raw eth_blockNumber: no client-side caching in between
    expect(Number(await transport.call<string>('eth_blockNumber'))).toBe(height);
    const after = await watcher.getBlockTransfers(height);
    expect(after.hash).not.toBe(before.hash);
    expect(after.parentHash).toBe(before.parentHash);
    expect((await watcher.getBlockRef(height))!.hash).toBe(after.hash);
    expect(after.transfers).toEqual([]);
    expect(await watcher.getTransactionStatus(txHash)).toEqual({ state: 'dropped' });
    expect(await balance(payee)).toBe(0n);
    expect(await watcher.getBlockRef(height + 1)).toBeNull();
  });

  it('has no mempool to report', async () => {
    expect(await watcher.getMempoolTransfers()).toEqual([]);
  });
});

describe('ensureDevEvm', () => {
  it('starts anvil with USDT when nothing answers, reuses it when it does, and refuses a foreign chain', async () => {
    const port = await freePort();
    const rpcUrl = `http://127.0.0.1:${port}`;
    const lines: string[] = [];
    const first = await ensureDevEvm({ log: (l) => lines.push(l), rpcUrl });
    try {
      expect(first.started).toBe(true);
      const devTransport = createRpcPool([{ url: rpcUrl }]);
      expect(await devTransport.call<string>('eth_getCode', [DEV_EVM_USDT_ADDRESS, 'latest'])).not.toBe('0x');
      const again = await ensureDevEvm({ log: (l) => lines.push(l), rpcUrl });
      expect(again).toMatchObject({ started: false, pid: null, rpcUrl });
      await again.stop(); // a no-op: it was not started by this call
      expect(pidAlive(first.pid!)).toBe(true);
      expect(lines).toEqual([expect.stringMatching(/started anvil/), expect.stringMatching(/using the node/)]);

      await devTransport.call('anvil_setChainId', [1]);
      await expect(ensureDevEvm({ log: () => undefined, rpcUrl })).rejects.toThrow(/chain id 1, expected 31337/);
    } finally {
      await first.stop();
    }
    expect(pidAlive(first.pid!)).toBe(false);
  });
});
