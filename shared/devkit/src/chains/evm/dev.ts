import { spawn } from 'node:child_process';
import path from 'node:path';
import { Wallet } from 'ethers';
import { DEV_EVM_RPC, DEV_EVM_USDT_ADDRESS, getNetwork } from '@cpg/chains/networks';
import { createRpcPool } from '@cpg/chains/rpc';
import { ChainError, type DevChainControls, type NetworkConfig, type RpcTransport, type SigningKey } from '@cpg/chains/types';
import { exitOf, forgetChild, rememberChild, stopChild } from '../../services/child-processes';
import { freePort, hostPortOf, isTcpOpen, waitForTcp } from '../../services/tcp';
import { DEV_USDT } from '@cpg/chains/evm/contracts';
import { EvmSigner, waitForReceipt } from '@cpg/chains/evm/signer';
import { ANVIL_MNEMONIC, anvilAccount } from '@cpg/chains/evm/dev-accounts';

export { ANVIL_MNEMONIC, anvilAccount };

/**
 * The dev EVM chain: anvil (chain id 31337) with DevUSDT at DEV_EVM_USDT_ADDRESS, and the fund /
 * mine / reorg controls tests and the demo use. Never imported for real networks.
 */

/** Anvil's default mnemonic: public knowledge, printed by anvil itself at start. */
export const DEV_EVM_CHAIN_ID = 31337;

/** The anvil binary shipped in @foundry-rs/anvil's platform package (or ANVIL_BIN). */
export function anvilBinary(): string {
  if (process.env.ANVIL_BIN) return process.env.ANVIL_BIN;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch}`;
  let dir: string;
  try {
    dir = path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    throw new Error(`anvil: ${pkg} is not installed (it comes with @foundry-rs/anvil for this platform); or set ANVIL_BIN`);
  }
  return path.join(dir, 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
}

export interface AnvilHandle {
  rpcUrl: string;
  port: number;
  pid: number;
  /** SIGTERM, then SIGKILL after 3 s; resolves once anvil has exited. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts anvil on 127.0.0.1 (`port` 0 or absent: a free one) with automatic mining (a block per
 * transaction) and resolves once it answers JSON-RPC. The caller stops it by its handle.
 */
export async function startAnvil(opts: { port?: number; statePath?: string } = {}): Promise<AnvilHandle> {
  const port = opts.port || (await freePort());
  const args = ['--host', '127.0.0.1', '--port', String(port), '--chain-id', String(DEV_EVM_CHAIN_ID), '--silent'];
  // The chain (blocks, hashes, balances) is loaded from and written back to statePath, every 2 s
  // and on exit, so `npm start` finds the chain its database remembers; tests start empty.
  if (opts.statePath) args.push('--state', opts.statePath, '--state-interval', '2');
  const child = spawn(anvilBinary(), args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = exitOf(child);
  rememberChild(child.pid);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const handle: AnvilHandle = {
    rpcUrl: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid ?? -1,
    stop: async () => {
      await stopChild(child, exited, [{ signal: 'SIGTERM', graceMs: 3000 }]);
      forgetChild(child.pid);
    },
  };
  const died = exited.then((info) => {
    throw new Error(`anvil exited at start (code ${info.code}, signal ${info.signal}): ${stderr.trim() || 'no output'}`);
  });
  try {
    await Promise.race([waitForTcp('127.0.0.1', port, 15_000), died]);
    const chainId = await Promise.race([rpcChainId(handle.rpcUrl), died]);
    if (chainId !== DEV_EVM_CHAIN_ID) throw new Error(`anvil on port ${port} reports chain id ${chainId}`);
  } catch (err) {
    await handle.stop();
    throw err;
  }
  died.catch(() => undefined);
  return handle;
}

/**
 * Makes sure DevUSDT exists at DEV_EVM_USDT_ADDRESS: deploys it as anvil account 0's very first
 * transaction (the address is a function of deployer and nonce 0). Idempotent: does nothing when
 * the code is there. Fails if account 0 has already sent something else, since the address can
 * then never be reached again on that chain.
 */
export async function deployDevUsdt(rpcUrl: string): Promise<void> {
  const transport = createRpcPool([{ url: rpcUrl }]);
  if (await hasCode(transport, DEV_EVM_USDT_ADDRESS)) return;
  const faucet = anvilAccount(0);
  const nonce = Number(await transport.call<string>('eth_getTransactionCount', [faucet.address, 'pending']));
  if (nonce !== 0) {
    // Perhaps another process is deploying it right now: give its transaction a moment.
    if (await waitForCode(transport, DEV_EVM_USDT_ADDRESS, 5_000)) return;
    throw new Error(
      `dev-evm: ${faucet.address} has already sent ${nonce} transactions, so DevUSDT can no longer land at ${DEV_EVM_USDT_ADDRESS}; restart anvil`,
    );
  }
  const signer = new EvmSigner(getNetwork('dev-evm', { DEV_EVM_RPC_URL: rpcUrl }), transport);
  const { tx, address } = await signer.signDeployment(faucet, DEV_USDT.bytecode);
  if (address.toLowerCase() !== DEV_EVM_USDT_ADDRESS.toLowerCase()) throw new Error(`dev-evm: DevUSDT would land at ${address}, not ${DEV_EVM_USDT_ADDRESS}`);
  await signer.broadcast(tx);
  if (!(await waitForCode(transport, DEV_EVM_USDT_ADDRESS, 15_000))) {
    // A chain started without automine needs a block.
    await transport.call('evm_mine').catch(() => undefined);
    if (!(await waitForCode(transport, DEV_EVM_USDT_ADDRESS, 5_000))) throw new Error(`dev-evm: DevUSDT deployment ${tx.txHash} was not mined`);
  }
}

export interface EnsuredDevEvm {
  rpcUrl: string;
  /** True when this call started anvil (then stop() ends it); false when one was already running. */
  started: boolean;
  pid: number | null;
  stop(): Promise<void>;
}

/**
 * For `npm start` / `npm test`: reuses an anvil already answering at the dev URL (default
 * 127.0.0.1:8545, or DEV_EVM_RPC_URL) with chain id 31337, else starts one on that port; then
 * makes sure DevUSDT is deployed. Something else listening on the port is an error, never killed.
 */
export async function ensureDevEvm(opts: { log: (line: string) => void; rpcUrl?: string; statePath?: string }): Promise<EnsuredDevEvm> {
  const rpcUrl = opts.rpcUrl ?? process.env.DEV_EVM_RPC_URL ?? DEV_EVM_RPC;
  const { host, port } = hostPortOf(rpcUrl, 8545);
  if (await isTcpOpen(host, port)) {
    let chainId: number;
    try {
      chainId = await rpcChainId(rpcUrl);
    } catch (err) {
      throw new Error(
        `dev-evm: ${host}:${port} is taken by something that does not answer eth_chainId (${(err as Error).message}); free the port or set DEV_EVM_RPC_URL`,
      );
    }
    if (chainId !== DEV_EVM_CHAIN_ID) throw new Error(`dev-evm: the node at ${rpcUrl} has chain id ${chainId}, expected ${DEV_EVM_CHAIN_ID}`);
    await deployDevUsdt(rpcUrl);
    opts.log(`dev-evm: using the node at ${rpcUrl}; USDT at ${DEV_EVM_USDT_ADDRESS}`);
    return { rpcUrl, started: false, pid: null, stop: async () => undefined };
  }
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`dev-evm: nothing answers at ${rpcUrl}, and anvil is only started on 127.0.0.1`);
  const anvil = await startAnvil({ port, statePath: opts.statePath });
  try {
    await deployDevUsdt(anvil.rpcUrl);
  } catch (err) {
    await anvil.stop();
    throw err;
  }
  opts.log(
    `dev-evm: started anvil (pid ${anvil.pid}) at ${anvil.rpcUrl}${opts.statePath ? `, state in ${opts.statePath}` : ''}; USDT at ${DEV_EVM_USDT_ADDRESS}`,
  );
  return { rpcUrl: anvil.rpcUrl, started: true, pid: anvil.pid, stop: anvil.stop };
}

/**
 * Faucet, mining and reorgs on the dev chain. fund() pays from anvil account 0 (which holds
 * 10000 ETH and all DevUSDT) and waits until the transfer is mined (anvil automines; a chain
 * without automine gets up to `fundWaitMs`).
 */
export class EvmDevControls implements DevChainControls {
  private readonly signer: EvmSigner;
  private readonly faucet = anvilAccount(0);

  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
    private readonly opts: { fundWaitMs?: number } = {},
  ) {
    if (!network.dev || network.family !== 'EVM') throw new Error(`EvmDevControls: ${network.id} is not a dev EVM network`);
    this.signer = new EvmSigner(network, transport);
  }

  /**
   * Called by tests and the demo to pay an address from the faucet. Not idempotent: every call
   * pays again. Returns the transaction hash once mined. Another process funding from the same
   * faucet at the same moment takes our nonce; the rejected transaction is then signed again.
   */
  async fund(address: string, coinId: string, amount: bigint): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const tx = await this.signer.sign(this.faucet, [{ to: address, coinId, amount }]);
      try {
        await this.signer.broadcast(tx);
      } catch (err) {
        if (attempt < 3 && err instanceof ChainError && !err.transient && /nonce/i.test(err.message)) continue;
        throw err;
      }
      const receipt = await waitForReceipt(this.transport, tx.txHash, { timeoutMs: this.opts.fundWaitMs ?? 10_000, intervalMs: 50 });
      if (receipt && receipt.status !== '0x1') throw new ChainError(`dev-evm: funding transaction ${tx.txHash} reverted`, false);
      return tx.txHash;
    }
  }

  /** Called by tests and the demo; not idempotent (each call adds blocks). anvil_mine, or evm_mine one by one elsewhere. Returns the tip. */
  async mine(blocks = 1): Promise<number> {
    try {
      await this.transport.call('anvil_mine', [`0x${blocks.toString(16)}`]);
    } catch (err) {
      if (err instanceof ChainError && err.transient) throw err;
      for (let i = 0; i < blocks; i++) await this.transport.call('evm_mine');
    }
    return Number(await this.transport.call<string>('eth_blockNumber'));
  }

  /**
   * Replaces the last `depth` blocks with as many new ones (anvil_reorg). The new blocks hold no
   * transactions: what the orphaned blocks carried is gone, as after a real reorg that dropped
   * them. Called by tests and the demo; not idempotent. Returns the tip (same height as before).
   */
  async reorg(depth: number): Promise<number> {
    if (!Number.isInteger(depth) || depth < 1) throw new Error('reorg depth must be a positive integer');
    await this.transport.call('anvil_reorg', [depth, []]);
    return Number(await this.transport.call<string>('eth_blockNumber'));
  }
}

async function rpcChainId(rpcUrl: string): Promise<number> {
  return Number(await createRpcPool([{ url: rpcUrl }], { timeoutMs: 3_000 }).call<string>('eth_chainId'));
}

async function hasCode(transport: RpcTransport, address: string): Promise<boolean> {
  const code = await transport.call<string>('eth_getCode', [address, 'latest']);
  return code !== '0x' && code !== '0x0' && code !== '';
}

async function waitForCode(transport: RpcTransport, address: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await hasCode(transport, address)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Tests only: signs and sends a transaction without simulating it first (as a careless wallet
 * would), so one that reverts still lands on chain. Returns the hash once it is sent.
 */
export async function sendUnsimulated(transport: RpcTransport, key: SigningKey, to: string, data: string, value = 0n): Promise<string> {
  const wallet = new Wallet(Buffer.from(key.privateKey).toString('hex'));
  const nonce = Number(await transport.call<string>('eth_getTransactionCount', [key.address, 'pending']));
  const raw = await wallet.signTransaction({
    type: 2,
    chainId: DEV_EVM_CHAIN_ID,
    nonce,
    to,
    value,
    data,
    gasLimit: 200_000,
    maxFeePerGas: 10n ** 10n,
    maxPriorityFeePerGas: 10n ** 9n,
  });
  return transport.call<string>('eth_sendRawTransaction', [raw]);
}
