import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { type ChainWatcher, type NetworkConfig, allNetworks } from '@cpg/chains';
import { createRpcPool } from '@cpg/chains/rpc';
import { BitcoinWatcher, EvmWatcher, TronWatcher } from '@cpg/chains/watchers';
import type { WorkerConfig } from '@cpg/core/config';
import { applyOnce } from '@cpg/core/db';
import { type RunningWorker, countEvent, startWorkerService } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import { SCHEMA, migrations } from '../migrations';
import { storeWatchedAddress } from './cursor-store';
import { entities } from './entities';
import { Lease } from '@cpg/core/bus/lease';
import { NetworkScanner, type ScannerOptions } from './scanner';
import { WatchRegistry } from './watch-registry';

export interface TrackerOptions {
  log?: Logger;
  /** Default: every enabled network of allNetworks(). */
  networks?: NetworkConfig[];
  /**
   * Called once per network at start; the watcher lives until stop (then its close() is
   * called). Default: the family's watcher over createRpcPool(network.rpc).
   */
  watcherFor?: (network: NetworkConfig) => ChainWatcher;
  /** Lease TTL in NATS KV; false runs without a lease (a single instance by construction). */
  leaseTtlMs?: number | false;
  /** First height per network when it has no cursor yet (default: after the current tip). */
  startHeights?: Record<string, number>;
  scanner?: Partial<Omit<ScannerOptions, 'startHeight'>>;
}

export interface RunningTracker extends RunningWorker {
  scanners: Map<string, NetworkScanner>;
  watchLists: WatchRegistry;
}

function defaultWatcher(network: NetworkConfig): ChainWatcher {
  const transport = createRpcPool(network.rpc, { name: network.id });
  switch (network.family) {
    case 'EVM':
      return new EvmWatcher(network, transport);
    case 'BITCOIN':
      return new BitcoinWatcher(network, transport);
    case 'TRON':
      return new TronWatcher(network, transport);
  }
}

/**
 * The tracker: one scan loop per network, each active only while this instance holds that
 * network's lease, sharing one watch list fed by address.created.
 */
export async function startTrackerWorker(config: WorkerConfig, opts: TrackerOptions = {}): Promise<RunningTracker> {
  const networks = opts.networks ?? allNetworks().filter((n) => n.enabled);
  const scanners = new Map<string, NetworkScanner>();
  return startWorkerService({ name: 'tracker', schema: SCHEMA, entities, migrations, config, log: opts.log }, async ({ orm, bus, relay, log }) => {
    const registry = new WatchRegistry(networks, orm.em, SCHEMA, log);
    const started = Date.now();
    const loaded = await registry.refresh();
    log.info({ addresses: loaded, ms: Date.now() - started, networks: networks.map((n) => n.id) }, 'watch list loaded');

    const consumer = await bus.consume({
      durable: 'tracker-watch-list',
      types: ['address.created'],
      handler: async (event) => {
        const a = event.data;
        // An address has one owner: the address subgraph refuses a second one, and a later
        // address.created naming another merchant for a watched address never re-assigns it.
        const owner = registry.ownedByAnother(a.address, a.merchantId, a.networks);
        if (owner) {
          countEvent('tracker.address.second_owner_refused');
          log.error(
            { addressId: a.addressId, address: a.address, merchantId: a.merchantId, owner: owner.merchantId, network: owner.network },
            'address.created refused: the address is already watched for another merchant',
          );
          return;
        }
        // Blocks already committed may hold a payment to it (a customer can pay within a second
        // of the address's creation): the row comes with a pending rescan per network.
        await applyOnce(orm.em, SCHEMA, 'tracker-watch-list', event.id, (tx) => storeWatchedAddress(tx, SCHEMA, a, event.occurredAt));
        registry.add(a.address, { addressId: a.addressId, merchantId: a.merchantId, type: a.type }, a.networks);
        for (const network of a.networks) scanners.get(network)?.noticeNewAddresses();
      },
    });

    const holder = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const leases: Lease[] = [];
    const watchers: ChainWatcher[] = [];
    for (const network of networks) {
      const watcher = (opts.watcherFor ?? defaultWatcher)(network);
      watchers.push(watcher);
      const pollDefault = Math.min(2000, Math.max(250, Math.round((network.blockTimeSeconds * 1000) / 4)));
      const scanner = new NetworkScanner({
        network,
        watcher,
        watch: registry.lists.get(network.id)!,
        em: orm.em,
        schema: SCHEMA,
        bus,
        relay,
        log,
        refreshWatchList: async () => {
          await registry.refresh();
        },
        options: {
          batchSize: 100,
          prefetch: 4,
          pollIntervalMs: pollDefault,
          idleRecheckMs: 5000,
          statusIntervalMs: 5000,
          maxBackoffMs: 30_000,
          ...opts.scanner,
          startHeight: opts.startHeights?.[network.id],
        },
      });
      scanners.set(network.id, scanner);
      scanner.start();
      if (opts.leaseTtlMs === false) {
        scanner.setActive(true);
      } else {
        const lease = await Lease.open({
          nc: bus.nc,
          namespace: config.NATS_NAMESPACE,
          bucket: 'tracker_leases',
          key: network.id,
          holder,
          ttlMs: opts.leaseTtlMs ?? 10_000,
          replicas: bus.replicas,
          log,
        });
        lease.onChange((held) => scanner.setActive(held));
        void lease.start();
        leases.push(lease);
      }
    }
    return {
      scanners,
      watchLists: registry,
      // A network whose loop halted for an operator is reported, so /readyz is honest about it.
      ready: async () => Object.fromEntries([...scanners].map(([id, scanner]) => [`scanning:${id}`, !scanner.halted])),
      stop: async () => {
        await consumer.stop();
        await Promise.all([...scanners.values()].map((s) => s.stop()));
        await Promise.all(leases.map((l) => l.stop()));
        await Promise.all(watchers.map((w) => w.close?.().catch(() => undefined)));
      },
    };
  });
}
