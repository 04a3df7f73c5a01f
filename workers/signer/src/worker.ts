import { type NetworkConfig, allNetworks } from '@cpg/chains';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import type { WorkerConfig } from '@cpg/core/config';
import { type RunningWorker, startWorkerService } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import { AesGcmSealer, type KeyStore, PostgresKeyStore } from '@cpg/chains/keys';
import { SCHEMA, migrations } from '../migrations';
import type { SignerConfig } from './config';
import { entities } from './entities';
import { serveAccountXpub } from './rpc/account-xpub';
import { serveCreateKey } from './rpc/create-key';
import { BitcoinPayoutChain } from './withdrawals/bitcoin-chain';
import { PayoutRefused, type PayoutChain } from './withdrawals/chains';
import { EvmPayoutChain } from './withdrawals/evm-chain';
import { TronPayoutChain } from './withdrawals/tron-chain';
import { consumeBatches, consumeHotWalletFunding } from './withdrawals/consumer';
import { BatchContracts } from './withdrawals/contracts';
import { HotWallets } from './withdrawals/hot-wallets';
import { IntakeStore } from './withdrawals/intake-store';
import { WithdrawalProcessor } from './withdrawals/processor';

export interface RunningSigner extends RunningWorker {
  /** For in-process signing code; private keys from it never go on the bus. */
  keys: KeyStore;
  /** Each merchant's HOT wallet per network (addresses only leave the signer). */
  hotWallets: HotWallets;
  /** Null when SIGNER_WITHDRAWALS is off. */
  withdrawals: WithdrawalProcessor | null;
}

/** The required part of SignerConfig; the withdrawal settings fall back to their defaults. */
export type SignerStartConfig = WorkerConfig &
  Pick<SignerConfig, 'KEY_ENCRYPTION_KEY' | 'KEY_ENCRYPTION_KEY_ID'> &
  Partial<Omit<SignerConfig, 'KEY_ENCRYPTION_KEY' | 'KEY_ENCRYPTION_KEY_ID'>>;

export interface SignerOptions {
  /** Networks the signer pays on; default every enabled one. */
  networks?: NetworkConfig[];
  /** Runs after a signed withdrawal transaction is stored and before it is broadcast (tests). */
  afterSign?: (batchId: string) => Promise<void> | void;
}

/** Database (migrations) -> bus -> the signer's request-reply handlers -> withdrawals -> health port. */
export async function startSignerWorker(config: SignerStartConfig, log?: Logger, opts: SignerOptions = {}): Promise<RunningSigner> {
  const sealer = AesGcmSealer.fromHex(config.KEY_ENCRYPTION_KEY, config.KEY_ENCRYPTION_KEY_ID);
  return startWorkerService({ name: 'signer', schema: SCHEMA, entities, migrations, config, log }, async ({ orm, bus, relay, log: workerLog }) => {
    const store = new PostgresKeyStore(orm.em, sealer);
    const hotWallets = new HotWallets(orm.em, store, SCHEMA);
    serveAccountXpub(bus, store);
    serveCreateKey(bus, store, hotWallets);
    (await import('./rpc/collect')).serveCollectSign(bus, store, orm.em, SCHEMA, workerLog.child({ component: 'collect' }));
    // A wrong KEY_ENCRYPTION_KEY is not fatal to the process (it may be a rotation in progress),
    // but it must be loud and keep traffic away: readiness fails until it is fixed.
    if (!(await store.canOpenStoredSecrets())) workerLog.error('KEY_ENCRYPTION_KEY does not open the stored seeds; every key request will fail');

    const transports = new Map<string, RpcPool>();
    const chains = new Map<string, PayoutChain>();
    let stopWithdrawals = async () => undefined;
    let processor: WithdrawalProcessor | null = null;
    if ((config.SIGNER_WITHDRAWALS ?? '1') === '1' || config.SIGNER_WITHDRAWALS === 'true') {
      const networks = new Map((opts.networks ?? allNetworks().filter((n) => n.enabled)).map((n) => [n.id, n]));
      const transportFor = (network: NetworkConfig): RpcPool => {
        let t = transports.get(network.id);
        if (!t) transports.set(network.id, (t = createRpcPool(network.rpc, { name: `signer ${network.id}` })));
        return t;
      };
      const chainFor = (network: NetworkConfig): PayoutChain => {
        let c = chains.get(network.id);
        if (c) return c;
        if (network.family === 'BITCOIN') c = new BitcoinPayoutChain(network, transportFor(network));
        else if (network.family === 'EVM') c = new EvmPayoutChain(network, transportFor(network));
        else if (network.family === 'TRON') c = new TronPayoutChain(network, transportFor(network));
        else throw new PayoutRefused(`payouts on ${String(network.family)} network ${network.id} are not supported`);
        chains.set(network.id, c);
        return c;
      };
      const wl = workerLog.child({ component: 'withdrawals' });
      const killAfterSign = config.NODE_ENV === 'test' && config.SIGNER_TEST_KILL_AFTER_SIGN === '1';
      processor = new WithdrawalProcessor({
        em: orm.em,
        schema: SCHEMA,
        keys: store,
        wallets: hotWallets,
        contracts: new BatchContracts(orm.em, SCHEMA, transportFor, wl, config.batchTransferContracts ?? {}),
        relay,
        log: wl,
        networks,
        chainFor,
        pollMs: config.WITHDRAWAL_POLL_MS ?? 3_000,
        fundsRetryMs: config.WITHDRAWAL_FUNDS_RETRY_MS ?? 30_000,
        bumpAfterSeconds: config.WITHDRAWAL_BUMP_AFTER_SECONDS ?? 600,
        bumpPercent: config.WITHDRAWAL_BUMP_PERCENT ?? 25,
        afterSign: async (batchId) => {
          await opts.afterSign?.(batchId);
          if (killAfterSign) {
            wl.warn({ batchId }, 'SIGNER_TEST_KILL_AFTER_SIGN: killing the process between store and broadcast');
            process.kill(process.pid, 'SIGKILL');
            await new Promise(() => undefined);
          }
        },
      });
      const intake = new IntakeStore(orm.em, SCHEMA);
      const consumers = [await consumeBatches(bus, intake, processor, wl), await consumeHotWalletFunding(bus, intake, processor)];
      processor.start();
      const p = processor;
      stopWithdrawals = async () => {
        for (const c of consumers) await c.stop();
        await p.stop();
        for (const t of transports.values()) await t.close().catch(() => undefined);
      };
    }
    return {
      keys: store as KeyStore,
      hotWallets,
      withdrawals: processor,
      stop: stopWithdrawals,
      ready: async () => ({ keyEncryptionKey: await store.canOpenStoredSecrets() }),
    };
  });
}
