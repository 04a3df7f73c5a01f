import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type NetworkConfig, getNetwork } from '@cpg/chains';
import { LitecoinDevControls, type LitecoindHandle, startLitecoind } from '@cpg/devkit/chains/bitcoin/dev';
import { type AnvilHandle, EvmDevControls, deployDevUsdt, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { type RpcPool, createRpcPool } from '@cpg/chains/rpc';
import { eventually } from '@cpg/devkit/testing';
import { type RunningTracker, type TrackerOptions, startTrackerWorker } from '@cpg/worker-tracker/src/worker';
import type { Stack } from './stack';

/** A file's own anvil (with DevUSDT) and litecoind regtest, their network configs and dev controls. */
export interface DevChains {
  anvil: AnvilHandle;
  ltcNode: LitecoindHandle;
  evm: NetworkConfig;
  ltc: NetworkConfig;
  evmRpc: RpcPool;
  evmDev: EvmDevControls;
  ltcDev: LitecoinDevControls;
  /** The dev controls by network id. */
  controls: { 'dev-evm': EvmDevControls; 'dev-ltc': LitecoinDevControls };
  /** Stops both nodes (by their PIDs) and removes litecoind's data directory. */
  stop(): Promise<void>;
}

/**
 * Starts both dev chains. `confirmations` overrides the networks' depth; `exportEnv` also points
 * DEV_EVM_RPC_URL / DEV_LTC_RPC_URL at them, for services that read the networks from the
 * environment (the address subgraph, the collector).
 */
export async function startDevChains(opts: { confirmations?: number; exportEnv?: boolean } = {}): Promise<DevChains> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cpg-e2e-ltc-'));
  const [anvil, ltcNode] = await Promise.all([startAnvil({ port: 0 }), startLitecoind({ dataDir })]);
  await deployDevUsdt(anvil.rpcUrl);
  if (opts.exportEnv) {
    process.env.DEV_EVM_RPC_URL = anvil.rpcUrl;
    process.env.DEV_LTC_RPC_URL = ltcNode.rpcUrl;
  }
  const depth = opts.confirmations !== undefined ? { confirmations: opts.confirmations } : {};
  const evm: NetworkConfig = { ...getNetwork('dev-evm'), ...depth, rpc: [{ url: anvil.rpcUrl, supportsTracing: true, supportsBlockReceipts: true }] };
  const ltc: NetworkConfig = { ...getNetwork('dev-ltc'), ...depth, rpc: [{ url: ltcNode.rpcUrl, username: 'cpg', password: 'cpg' }] };
  const evmRpc = createRpcPool(evm.rpc);
  const evmDev = new EvmDevControls(evm, evmRpc);
  const ltcDev = new LitecoinDevControls(ltc, ltcNode.transport, ltcNode.walletTransport);
  return {
    anvil,
    ltcNode,
    evm,
    ltc,
    evmRpc,
    evmDev,
    ltcDev,
    controls: { 'dev-evm': evmDev, 'dev-ltc': ltcDev },
    stop: async () => {
      await evmRpc.close().catch(() => undefined);
      await Promise.all([anvil.stop(), ltcNode.stop()]);
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The tracker on both dev chains for the stack, returned once it has scanned to litecoind's tip. */
export async function startChainTracker(
  stack: Stack,
  chains: DevChains,
  scanner: TrackerOptions['scanner'] = { pollIntervalMs: 100 },
): Promise<RunningTracker> {
  const tracker = await startTrackerWorker(stack.env.workerConfig(stack.env.natsAuth('tracker')), {
    networks: [chains.evm, chains.ltc],
    log: stack.env.log,
    leaseTtlMs: false,
    scanner,
  });
  const ltcTip = await chains.ltcNode.transport.call<number>('getblockcount');
  await eventually(async () => (tracker.scanners.get('dev-ltc')!.status().scannedHeight ?? -1) >= ltcTip, 'the tracker at the dev-ltc tip', 30_000);
  return tracker;
}
