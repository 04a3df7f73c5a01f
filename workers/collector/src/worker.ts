import { type NetworkConfig, allNetworks } from '@cpg/chains';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import type { WorkerConfig } from '@cpg/core/config';
import { type RunningWorker, startWorkerService } from '@cpg/core/http';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { Lease } from '@cpg/core/bus/lease';
import type { Logger } from '@cpg/core/logger';
import { SCHEMA, migrations } from '../migrations';
import { CollectorChain } from './chain';
import { Collector, type CollectorHooks } from './collector';
import { DEFAULT_USD_PRICES } from './config';
import { COPY_DURABLES, startConsumers } from './consumers';
import { usdPrices } from './domain/policy';
import { entities } from './entities';

export interface CollectorOptions {
  log?: Logger;
  /** Default: every enabled network of allNetworks(). */
  networks?: NetworkConfig[];
  /** Default: CollectorChain over createRpcPool(network.rpc). */
  chainFor?: (network: NetworkConfig) => CollectorChain;
  /** How often dirty (merchant, coin) pairs are planned and open plans advanced. Default 1 s. */
  tickMs?: number;
  /** How often every (merchant, coin) is planned, deposit or not. Default 60 s. */
  passMs?: number;
  /** At start, how long to wait for the address / policy / hold copies to catch up. Default 10 s. */
  catchUpMs?: number;
  /** USD prices by symbol for weighing gas against tokens; default DEFAULT_USD_PRICES (the process entry passes RATES_STATIC). */
  usdPrices?: Record<string, string>;
  hooks?: CollectorHooks;
  /**
   * Lease TTL in NATS KV: of several collector replicas only the holder plans and advances
   * sweeps (two planners would race for the same coins); the others keep their copies current
   * and take over within the TTL when the holder dies. False runs without a lease (one instance
   * by construction). Default 10 s.
   */
  leaseTtlMs?: number | false;
}

export interface RunningCollector extends RunningWorker {
  collector: Collector;
  /** Whether this replica holds the lease (plans and advances sweeps) now. */
  isActive(): boolean;
  /** Runs one tick now (plans dirty pairs, or all when `full`, then advances open plans). */
  tick(full?: boolean): Promise<void>;
}

/**
 * The collector: keeps copies of the merchants' addresses and policies, marks a merchant's coin
 * dirty on each confirmed deposit to a USER address, plans sweeps for dirty pairs at once and for
 * every pair periodically, and advances open plans step by step (see Collector).
 */
export async function startCollectorWorker(config: WorkerConfig, opts: CollectorOptions = {}): Promise<RunningCollector> {
  const networks = new Map((opts.networks ?? allNetworks().filter((n) => n.enabled)).map((n) => [n.id, n]));
  return startWorkerService({ name: 'collector', schema: SCHEMA, entities, migrations, config, log: opts.log }, async ({ orm, bus, relay, log }) => {
    const pools = new Map<string, RpcPool>();
    const chains = new Map<string, CollectorChain>();
    const chainFor =
      opts.chainFor ??
      ((network: NetworkConfig) => {
        let c = chains.get(network.id);
        if (!c) {
          const pool = createRpcPool(network.rpc, { name: `collector ${network.id}` });
          pools.set(network.id, pool);
          chains.set(network.id, (c = new CollectorChain(network, pool)));
        }
        return c;
      });
    const collector = new Collector({
      em: orm.em,
      bus,
      kickRelay: () => relay.kick(),
      log,
      networks,
      chainFor,
      usdPrices: opts.usdPrices ?? usdPrices(DEFAULT_USD_PRICES),
      hooks: opts.hooks,
    });
    // The signer asks, inside each collect_sign we send, whether it is one of our stored steps.
    bus.reply('collector.verify_step', async (claim) => {
      const reason = await collector.verifyStep(claim.requestId, claim);
      if (reason === null) return { ok: true as const };
      log.warn({ stepId: claim.requestId, merchantId: claim.merchantId, reason }, 'collector.verify_step: not a step waiting for its signature');
      return { ok: false as const, reason };
    });

    const consumers = await startConsumers(bus, collector, networks, () => wake());

    // Plan from copies that are current: wait (bounded) until the address, policy and hold
    // consumers have taken in what the stream already holds.
    const deadline = Date.now() + (opts.catchUpMs ?? 10_000);
    for (const durable of COPY_DURABLES) {
      for (;;) {
        const info = await bus.jsm.consumers.info(bus.streamName, durable).catch(() => null);
        if (!info || (info.num_pending === 0 && info.num_ack_pending === 0) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    // Planning waits for the lease; copies and verify_step answers run on every replica.
    let active = opts.leaseTtlMs === false;
    const lease =
      opts.leaseTtlMs === false
        ? undefined
        : await Lease.open({
            nc: bus.nc,
            namespace: config.NATS_NAMESPACE,
            bucket: 'collector_leases',
            key: 'collector',
            holder: `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
            ttlMs: opts.leaseTtlMs ?? 10_000,
            replicas: bus.replicas,
            log,
          });
    lease?.onChange((held) => {
      active = held;
      if (held) wake();
    });

    let running: Promise<void> | null = null;
    let again = false;
    let lastFull = 0;
    const passMs = opts.passMs ?? 60_000;
    const tick = async (full = false): Promise<void> => {
      if (!active) return;
      if (running) {
        again = true;
        return running;
      }
      running = (async () => {
        do {
          again = false;
          const doFull = full || Date.now() - lastFull >= passMs;
          if (doFull) lastFull = Date.now();
          try {
            for (const c of await collector.candidates(!doFull)) {
              // A lost lease stops the pass here: the new holder plans from the same rows.
              if (!active) break;
              try {
                const startedAt = new Date();
                const plan = await collector.planOne(c.merchantId, c.networkId, c.coinId);
                if (!plan) await collector.clearDirty(c.merchantId, c.coinId, startedAt);
              } catch (err) {
                log.warn({ ...c, err: (err as Error).message }, 'planning failed; retried on the next pass');
              }
            }
            for (const plan of await collector.openPlans()) {
              if (!active) break;
              try {
                await collector.advance(plan);
              } catch (err) {
                log.warn({ planId: plan.id, err: (err as Error).message }, 'advancing a plan failed; retried on the next tick');
              }
            }
          } catch (err) {
            log.error({ err: (err as Error).message }, 'collector tick failed');
          }
          full = false;
        } while (again && !stopping && active);
      })().finally(() => {
        running = null;
      });
      return running;
    };
    let stopping = false;
    const wake = () => void tick().catch(() => undefined);
    const timer = setInterval(wake, opts.tickMs ?? 1000);
    await lease?.start();
    wake();
    return {
      collector,
      tick,
      isActive: () => active,
      stop: async () => {
        stopping = true;
        clearInterval(timer);
        await lease?.stop();
        collector.stop();
        for (const c of consumers) await c.stop();
        await running?.catch(() => undefined);
        for (const p of pools.values()) await p.close().catch(() => undefined);
      },
    };
  });
}
