import { spawn } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import { exitOf, forgetChild, rememberChild, stopChild, tailOf } from '../../services/child-processes';
import { freePort, isTcpOpen, sleep } from '../../services/tcp';
import { DEV_LTC_RPC } from '@cpg/chains/networks';
import { createRpcPool } from '@cpg/chains/rpc';
import { ChainError, type DevChainControls, type NetworkConfig, type RpcEndpointConfig, type RpcTransport } from '@cpg/chains/types';
import { satsToCoins } from '@cpg/chains/bitcoin/amount';
import { RPC_IN_WARMUP, RPC_WALLET_ALREADY_LOADED, RPC_WALLET_NOT_FOUND, callOnce, rpcErrorCode, walletEndpoints } from '@cpg/chains/bitcoin/rpc';

/**
 * The Litecoin regtest dev chain: a litecoind we start (tests on free ports and a temp datadir;
 * `npm start` on the fixed ports of DESIGN.md) or one that already answers there, with wallet
 * `dev` holding mature coins for `fund`.
 */

export const DEV_WALLET = 'dev';
const DEV_USER = DEV_LTC_RPC.username;
const DEV_PASSWORD = DEV_LTC_RPC.password;
const DEV_RPC_PORT = Number(new URL(DEV_LTC_RPC.url).port);
const DEV_P2P_PORT = DEV_RPC_PORT + 1;
/** Coinbase outputs mature after 100 blocks, so 101 leaves the first one spendable. */
const MATURE_CHAIN_BLOCKS = 101;
const START_TIMEOUT_MS = 30_000;

export interface LitecoindHandle {
  rpcUrl: string;
  rpcPort: number;
  /** Our child's PID; null when an already running node was reused. */
  pid: number | null;
  transport: RpcTransport;
  /** The same node, calls scoped to wallet `dev`. */
  walletTransport: RpcTransport;
  /** Closes the transports, and stops the node by its PID (SIGTERM, then SIGKILL) if this call started it; a reused node keeps running. */
  stop(): Promise<void>;
}

function endpointFor(rpcUrl: string): RpcEndpointConfig {
  return { url: rpcUrl, username: DEV_USER, password: DEV_PASSWORD };
}

function transportsFor(rpcUrl: string): { transport: RpcTransport; walletTransport: RpcTransport } {
  return {
    transport: createRpcPool([endpointFor(rpcUrl)], { name: 'dev-ltc', timeoutMs: 30_000 }),
    walletTransport: createRpcPool(walletEndpoints([endpointFor(rpcUrl)], DEV_WALLET), { name: 'dev-ltc wallet', timeoutMs: 30_000 }),
  };
}

/**
 * Loads wallet `dev` (a restarted node does not reload it by itself), creating it on first use,
 * and mines to it until it has a mature coin. Idempotent.
 */
export async function prepareDevWallet(transport: RpcTransport, walletTransport: RpcTransport, log: (line: string) => void = () => undefined): Promise<void> {
  const loaded = await transport.call<string[]>('listwallets');
  if (!loaded.includes(DEV_WALLET)) {
    try {
      await transport.call('loadwallet', [DEV_WALLET]);
    } catch (err) {
      const code = rpcErrorCode(err);
      if (code === RPC_WALLET_ALREADY_LOADED) {
        /* loaded by someone else meanwhile */
      } else if (code === RPC_WALLET_NOT_FOUND || /not found|does not exist/i.test((err as Error).message)) {
        await transport.call('createwallet', [DEV_WALLET]);
        log(`litecoind: created wallet ${DEV_WALLET}`);
      } else {
        throw err;
      }
    }
  }
  const balance = await walletTransport.call<number>('getbalance');
  if (balance > 0) return;
  const address = await walletTransport.call<string>('getnewaddress', ['', 'bech32']);
  await transport.call('generatetoaddress', [MATURE_CHAIN_BLOCKS, address]);
  log(`litecoind: mined ${MATURE_CHAIN_BLOCKS} blocks so wallet ${DEV_WALLET} has mature coins`);
}

/**
 * LITECOIND if set, else Debian's real binary, else `litecoind` from PATH. Debian's
 * /usr/bin/litecoind is a wrapper that first writes ~/.litecoin/litecoin.conf with a random
 * RPC password; the dev chain needs nothing from the home directory, so it is skipped.
 */
async function litecoindBinary(): Promise<string> {
  if (process.env.LITECOIND) return process.env.LITECOIND;
  const debian = '/usr/lib/litecoin/litecoind';
  try {
    await fs.access(debian, fsConstants.X_OK);
    return debian;
  } catch {
    return 'litecoind';
  }
}

/**
 * Polls until the node answers RPC out of warm-up. Each probe uses a throwaway single-attempt
 * transport: the pooled one would open its circuit after a few refused connections and then
 * refuse to ask for its cool-down, long after the node came up.
 */
async function waitForRpc(rpcUrl: string, exited: Promise<unknown>, timeoutMs: number): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    if (gone) throw new Error('litecoind exited during start-up');
    const probe = createRpcPool([endpointFor(rpcUrl)], { maxAttempts: 1, timeoutMs: 2_000 });
    try {
      await probe.call('getblockchaininfo');
      return;
    } catch (err) {
      last = err;
      const code = rpcErrorCode(err);
      if (code !== undefined && code !== RPC_IN_WARMUP) throw err;
    } finally {
      await probe.close();
    }
    await sleep(100);
  }
  throw new Error(`litecoind did not answer RPC within ${timeoutMs} ms: ${(last as Error | undefined)?.message ?? 'no answer'}`);
}

/**
 * Spawns litecoind in regtest on loopback with `dataDir` (created if missing), waits for RPC,
 * and prepares wallet `dev`. Ports default to free ones. Stop it with the returned stop().
 * `extraArgs` adds node flags, e.g. `-mempoolreplacement=1`: Litecoin Core 0.21 refuses every
 * BIP125 replacement by default, unlike Bitcoin Core, so fee bumps need that flag.
 */
export async function startLitecoind(opts: {
  rpcPort?: number;
  p2pPort?: number;
  dataDir: string;
  log?: (line: string) => void;
  extraArgs?: string[];
}): Promise<LitecoindHandle> {
  const log = opts.log ?? (() => undefined);
  const dataDir = path.resolve(opts.dataDir);
  await fs.mkdir(dataDir, { recursive: true });
  const rpcPort = opts.rpcPort ?? (await freePort());
  const p2pPort = opts.p2pPort ?? (await freePort());
  const bin = await litecoindBinary();
  const args = [
    '-regtest',
    `-datadir=${dataDir}`,
    `-rpcport=${rpcPort}`,
    `-port=${p2pPort}`,
    '-rpcbind=127.0.0.1',
    '-rpcallowip=127.0.0.1',
    `-rpcuser=${DEV_USER}`,
    `-rpcpassword=${DEV_PASSWORD}`,
    '-fallbackfee=0.0001',
    '-txindex=1',
    '-listen=0',
    '-dnsseed=0',
    '-server=1',
    '-printtoconsole=0',
    ...(opts.extraArgs ?? []),
  ];
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exitInfo = exitOf(child);
  rememberChild(child.pid);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const exited = exitInfo.then((info) => {
    forgetChild(child.pid);
    return info;
  });
  const rpcUrl = `http://127.0.0.1:${rpcPort}`;
  const { transport, walletTransport } = transportsFor(rpcUrl);
  const stop = async () => {
    await Promise.all([transport.close?.(), walletTransport.close?.()]);
    // litecoind flushes its chain state on SIGTERM; give it time before the hard kill.
    await stopChild(child, exited, [{ signal: 'SIGTERM', graceMs: 20_000 }]);
  };
  try {
    const failed = await Promise.race([spawnError, waitForRpc(rpcUrl, exited, START_TIMEOUT_MS).then(() => null)]);
    if (failed) throw new Error(`cannot run ${bin}: ${failed.message} (install it with: apt-get install -y litecoind)`);
    await prepareDevWallet(transport, walletTransport, log);
  } catch (err) {
    await stop().catch(() => undefined);
    const debugLog = await tailOf(path.join(dataDir, 'regtest', 'debug.log'), 10);
    throw new Error(
      `litecoind failed to start: ${(err as Error).message}${stderr.trim() ? `\n${stderr.trim()}` : ''}${debugLog ? `\n--- debug.log ---\n${debugLog}` : ''}`,
    );
  }
  log(`litecoind: regtest on ${rpcUrl} (pid ${child.pid}, data ${dataDir})`);
  return { rpcUrl, rpcPort, pid: child.pid ?? null, transport, walletTransport, stop };
}

/**
 * For `npm start`: reuses a litecoind already answering on 127.0.0.1:19443 with cpg/cpg (making
 * sure wallet `dev` is loaded and funded), else starts one there with data in `dataDir`.
 */
export async function ensureDevLtc(opts: { dataDir: string; log: (line: string) => void }): Promise<LitecoindHandle & { started: boolean }> {
  const rpcUrl = `http://127.0.0.1:${DEV_RPC_PORT}`;
  if (await isTcpOpen('127.0.0.1', DEV_RPC_PORT)) {
    const { transport, walletTransport } = transportsFor(rpcUrl);
    let chain: string;
    try {
      chain = (await transport.call<{ chain: string }>('getblockchaininfo')).chain;
    } catch (err) {
      throw new Error(`something listens on 127.0.0.1:${DEV_RPC_PORT} but does not answer as litecoind with user ${DEV_USER}: ${(err as Error).message}`);
    }
    if (chain !== 'regtest') throw new Error(`the node on 127.0.0.1:${DEV_RPC_PORT} runs ${chain}, not regtest; refusing to use it as the dev chain`);
    await prepareDevWallet(transport, walletTransport, opts.log);
    opts.log(`litecoind: using the node already running on ${rpcUrl}`);
    // Not ours to stop: stop() only releases our connections.
    const stop = async () => {
      await Promise.all([transport.close?.(), walletTransport.close?.()]);
    };
    return { rpcUrl, rpcPort: DEV_RPC_PORT, pid: null, transport, walletTransport, started: false, stop };
  }
  const handle = await startLitecoind({ rpcPort: DEV_RPC_PORT, p2pPort: DEV_P2P_PORT, dataDir: opts.dataDir, log: opts.log });
  return { ...handle, started: true };
}

/**
 * fund / mine / reorg on the Litecoin dev chain through wallet `dev`. Test and demo use only.
 */
export class LitecoinDevControls implements DevChainControls {
  private minerAddress: string | null = null;
  private readonly wallet: RpcTransport;

  /**
   * `walletTransport` reaches wallet `dev` (startLitecoind's handle has one); without it, one is
   * made from the network's RPC endpoints with `/wallet/dev` appended.
   */
  constructor(
    readonly network: NetworkConfig,
    private readonly transport: RpcTransport,
    walletTransport?: RpcTransport,
  ) {
    if (!network.dev) throw new Error(`network ${network.id} is not a dev chain`);
    this.wallet = walletTransport ?? createRpcPool(walletEndpoints(network.rpc, DEV_WALLET), { name: `${network.id} wallet` });
  }

  /**
   * Sends `amount` base units from the dev wallet; returns the txid. Not idempotent: each call
   * pays again, so it is sent once, never retried. `replaceable` marks it for RBF so tests can
   * replace it with bumpFee().
   */
  async fund(address: string, coinId: string, amount: bigint, opts: { replaceable?: boolean } = {}): Promise<string> {
    if (coinId !== this.network.nativeCoin.id) throw new Error(`coin ${coinId} cannot be funded on ${this.network.id}`);
    if (amount <= 0n) throw new Error('amount must be positive');
    // The amount travels as a decimal string, never as a double.
    return callOnce<string>(this.wallet, 'sendtoaddress', [address, satsToCoins(amount), '', '', false, opts.replaceable ?? false]);
  }

  /**
   * Replaces a replaceable wallet transaction with a higher-fee one; returns the new txid. Not
   * idempotent. The node must run with `-mempoolreplacement=1`, or the wallet keeps a
   * replacement its own mempool refused and this still returns its txid; so that is checked.
   */
  async bumpFee(txid: string): Promise<string> {
    const replacement = (await callOnce<{ txid: string }>(this.wallet, 'bumpfee', [txid])).txid;
    const mempool = await this.transport.call<string[]>('getrawmempool');
    if (!mempool.includes(replacement)) throw new Error('the node refused the fee bump (start litecoind with -mempoolreplacement=1)');
    return replacement;
  }

  /**
   * Mines one block holding exactly `rawTxs` (in order), whatever the mempool holds: how tests
   * confirm a double spend and watch the mempool transaction it conflicts with disappear.
   * Returns the block. Not idempotent.
   */
  async mineTransactions(rawTxs: string[]): Promise<{ height: number; hash: string }> {
    this.minerAddress ??= await this.wallet.call<string>('getnewaddress', ['', 'bech32']);
    const { hash } = await callOnce<{ hash: string }>(this.transport, 'generateblock', [this.minerAddress, rawTxs]);
    const header = await this.transport.call<{ height: number }>('getblockheader', [hash, true]);
    return { height: header.height, hash };
  }

  /** Mines `blocks` blocks (default 1) to the dev wallet; returns the new tip height. Not idempotent. */
  async mine(blocks = 1): Promise<number> {
    if (!Number.isInteger(blocks) || blocks < 1) throw new Error('blocks must be a positive whole number');
    this.minerAddress ??= await this.wallet.call<string>('getnewaddress', ['', 'bech32']);
    await callOnce(this.transport, 'generatetoaddress', [blocks, this.minerAddress]);
    return this.transport.call<number>('getblockcount');
  }

  /**
   * Invalidates the last `depth` blocks and mines depth + 1 new ones (so the new branch is
   * longer); transactions of the old blocks return to the mempool and land in the new ones.
   * Returns the new tip. Not idempotent.
   */
  async reorg(depth: number): Promise<number> {
    const tip = await this.transport.call<number>('getblockcount');
    if (!Number.isInteger(depth) || depth < 1 || depth > tip) throw new Error(`reorg depth must be between 1 and ${tip}`);
    const first = await this.transport.call<string>('getblockhash', [tip - depth + 1]);
    await this.transport.call('invalidateblock', [first]);
    // A fresh payout address makes every new block differ from the invalidated one it replaces;
    // an identical block would carry the same hash and be refused as known-invalid.
    const address = await this.wallet.call<string>('getnewaddress', ['', 'bech32']);
    await callOnce(this.transport, 'generatetoaddress', [depth + 1, address]);
    const newTip = await this.transport.call<number>('getblockcount');
    if (newTip <= tip) throw new ChainError(`reorg did not extend the chain (tip ${newTip})`, false);
    return newTip;
  }
}
