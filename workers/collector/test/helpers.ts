import { randomBytes, randomUUID } from 'node:crypto';
import { Bus, type EventData } from '@cpg/core/bus';
import type { NetworkConfig } from '@cpg/chains';
import type { MerchantIdentity } from '@cpg/core/graphql';
import type { RunningService } from '@cpg/core/http';
import { type TestEnv, eventually } from '@cpg/devkit/testing';
import { startTrackerWorker, type RunningTracker } from '../../tracker/src/worker';
import { type RunningSigner, startSignerWorker } from '../../signer/src/worker';
import { startAddressSubgraph } from '../../../subgraphs/address/src/server';
import { startComplianceSubgraph } from '../../../subgraphs/compliance/src/server';
import { Catalogue } from '../../../subgraphs/address/src/domain/catalogue';
import { AddressService } from '../../../subgraphs/address/src/services/addresses';
import { CollectionService } from '../../../subgraphs/address/src/services/collection';
import { type CollectorOptions, type RunningCollector, startCollectorWorker } from '../src/worker';
import { SCHEMA } from '../migrations';

export type Transfer = EventData<'chain.transfer.seen'>;
export type SweepEvent = EventData<'collection.sweep_updated'>;
export type FeeEvent = EventData<'collection.fee'>;

/** Everything downstream sees: chain transfers (by kind) and the collector's sweep reports. */
export class Observed {
  readonly transfers: { kind: string; data: Transfer }[] = [];
  readonly sweeps: SweepEvent[] = [];
  readonly fees: FeeEvent[] = [];
  private stoppers: (() => Promise<void>)[] = [];

  constructor(readonly bus: Bus) {}

  async start(): Promise<void> {
    const a = await this.bus.consume({
      durable: `test-chain-${randomUUID().slice(0, 8)}`,
      types: ['chain.transfer.seen', 'chain.transfer.confirmed'],
      filter: 'chain.>',
      retryBaseMs: 50,
      handler: async (e) => {
        this.transfers.push({ kind: e.type.split('.').pop()!, data: e.data as Transfer });
      },
    });
    const b = await this.bus.consume({
      durable: `test-sweeps-${randomUUID().slice(0, 8)}`,
      types: ['collection.sweep_updated', 'collection.fee'],
      retryBaseMs: 50,
      handler: async (e) => {
        if (e.type === 'collection.fee') this.fees.push(e.data as FeeEvent);
        else this.sweeps.push(e.data as SweepEvent);
      },
    });
    this.stoppers = [() => a.stop(), () => b.stop()];
  }

  async stop(): Promise<void> {
    for (const s of this.stoppers) await s();
  }
}

/** The services the collector works with, all real: signer, address subgraph, tracker. */
export interface World {
  env: TestEnv;
  network: NetworkConfig;
  catalogue: Catalogue;
  signer: RunningSigner;
  address: RunningService;
  /** Screens cold wallets as the address subgraph registers them. */
  compliance: RunningService;
  tracker: RunningTracker;
  client: Bus;
  observed: Observed;
}

export async function startWorld(env: TestEnv, network: NetworkConfig): Promise<World> {
  const signer = await startSignerWorker(
    { ...env.workerConfig(env.natsAuth('signer')), KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'), KEY_ENCRYPTION_KEY_ID: 1, SIGNER_WITHDRAWALS: '0' },
    env.log,
    { networks: [network] },
  );
  const catalogue = new Catalogue(process.env);
  const address = await startAddressSubgraph(env.subgraphConfig(env.natsAuth('address')), env.log, catalogue);
  const compliance = await startComplianceSubgraph(env.subgraphConfig(env.natsAuth('compliance')), env.log);
  const tracker = await startTrackerWorker(env.workerConfig(env.natsAuth('tracker')), {
    log: env.log,
    networks: [network],
    leaseTtlMs: false,
    scanner: { pollIntervalMs: 100, idleRecheckMs: 300, statusIntervalMs: 1000 },
  });
  const client = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'collector-test', log: env.log });
  const observed = new Observed(client);
  await observed.start();
  return { env, network, catalogue, signer, address, compliance, tracker, client, observed };
}

export async function stopWorld(w: Partial<World>): Promise<void> {
  await w.observed?.stop().catch(() => undefined);
  await w.client?.close().catch(() => undefined);
  await w.tracker?.stop().catch(() => undefined);
  await w.address?.stop().catch(() => undefined);
  await w.compliance?.stop().catch(() => undefined);
  await w.signer?.stop().catch(() => undefined);
}

export function startCollector(w: World, opts: CollectorOptions = {}): Promise<RunningCollector> {
  return startCollectorWorker(w.env.workerConfig(w.env.natsAuth('collector')), { log: w.env.log, networks: [w.network], tickMs: 150, passMs: 500, ...opts });
}

/**
 * A collector that stops itself right after the first step matching `when` (a crash between two
 * steps of a plan); `halted()` tells whether it did.
 */
export async function startCollectorStoppingAfter(
  w: World,
  when: (step: Parameters<NonNullable<NonNullable<CollectorOptions['hooks']>['afterStep']>>[0]) => boolean,
  opts: CollectorOptions = {},
): Promise<{ running: RunningCollector; halted: () => boolean }> {
  let halted = false;
  const running: RunningCollector = await startCollector(w, {
    ...opts,
    hooks: {
      afterStep: (s) => {
        if (!halted && when(s)) {
          halted = true;
          void running.collector.stop();
        }
      },
    },
  });
  return { running, halted: () => halted };
}

export function merchant(): MerchantIdentity {
  return { kind: 'merchant', merchantId: randomUUID(), keyId: randomUUID(), scopes: ['READ', 'ADDRESSES_WRITE', 'WITHDRAWALS_WRITE'] };
}

export function addresses(w: World): AddressService {
  return new AddressService(w.address.orm.em.fork(), w.catalogue, w.address.bus, () => w.address.relay.kick());
}

export function collection(w: World): CollectionService {
  return new CollectionService(
    w.address.orm.em.fork(),
    w.catalogue,
    () => {
      throw new Error('no balance reads here');
    },
    () => w.address.relay.kick(),
  );
}

/** Waits until the collector's copies hold every address (and the policy) it will need. */
export async function collectorKnows(c: RunningCollector, addressIds: string[], policy?: { merchantId: string; coinId: string }): Promise<void> {
  await eventually(
    async () => {
      const rows = await c.orm.em
        .fork()
        .execute<{ n: string }[]>(
          `select count(*)::text as n from "${SCHEMA}".addresses where address_id in (${addressIds.map(() => '?').join(',')})`,
          addressIds,
        );
      if (Number(rows[0]!.n) !== addressIds.length) return false;
      if (!policy) return true;
      const p = await c.orm.em.fork().execute(`select 1 from "${SCHEMA}".policies where merchant_id = ? and coin_id = ?`, [policy.merchantId, policy.coinId]);
      return p.length > 0;
    },
    'collector has the addresses and policy',
    15_000,
  );
}

export async function trackerWatches(w: World, address: string): Promise<void> {
  await eventually(async () => w.tracker.watchLists.lists.get(w.network.id)!.get(address), `tracker watching ${address}`, 15_000);
}

export interface StepRecord {
  id: string;
  plan_id: string;
  seq: number;
  kind: string;
  action: string;
  coin_id: string;
  to_address: string;
  amount: string;
  status: string;
  tx_hash: string | null;
  from_wallets: { address: string }[];
}

export async function stepsOf(c: RunningCollector, merchantId: string): Promise<StepRecord[]> {
  return c.orm.em.fork().execute<StepRecord[]>(
    `select s.id, s.plan_id, s.seq, s.kind, s.action, s.coin_id, s.to_address, s.amount::text, s.status, s.tx_hash, s.from_wallets
       from "${SCHEMA}".steps s join "${SCHEMA}".plans p on p.id = s.plan_id where p.merchant_id = ? order by p.created_at, s.seq`,
    [merchantId],
  );
}

export async function plansOf(c: RunningCollector, merchantId: string): Promise<{ id: string; status: string; coin_id: string }[]> {
  return c.orm.em.fork().execute(`select id, status, coin_id from "${SCHEMA}".plans where merchant_id = ? order by created_at`, [merchantId]);
}

/** A cold wallet registered (screened) and approved by the operator, so the collector may forward to it at once. */
export async function approvedColdWallet(w: World, m: MerchantIdentity, networkId: string, address: string) {
  const svc = addresses(w);
  const cold = await svc.registerColdWallet(m, { networkId, address });
  return svc.decideColdWallet(cold.id, 'approve');
}
