import { PoisonMessageError } from '@cpg/core/bus';
import { type NetworkConfig, allNetworks } from '@cpg/chains';
import { chainEventProblem } from '@cpg/chains/event-subject';
import { createRpcPool, type RpcPool } from '@cpg/chains/rpc';
import type { WorkerConfig } from '@cpg/core/config';
import { applyOnce } from '@cpg/core/db';
import { type RunningWorker, countEvent, startWorkerService } from '@cpg/core/http';
import type { Logger } from '@cpg/core/logger';
import { SCHEMA, migrations } from '../migrations';
import { CollectorChain } from './chain';
import { Collector, type CollectorHooks } from './collector';
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
  /** USD prices by symbol for weighing gas against tokens; default from RATES_STATIC. */
  usdPrices?: Record<string, string>;
  hooks?: CollectorHooks;
}

export interface RunningCollector extends RunningWorker {
  collector: Collector;
  /** Runs one tick now (plans dirty pairs, or all when `full`, then advances open plans). */
  tick(full?: boolean): Promise<void>;
}

const DEFAULT_PRICES = 'BTC:USD=65000,ETH:USD=3000,LTC:USD=80,USDT:USD=1,USDC:USD=1,TRX:USD=0.12,BNB:USD=600,POL:USD=0.5';

/**
 * The collector: keeps copies of the merchants' addresses and policies, marks a merchant's coin
 * dirty on each confirmed deposit to a USER address, plans sweeps for dirty pairs at once and for
 * every pair periodically, and advances open plans step by step (see Collector).
 */
export async function startCollectorWorker(config: WorkerConfig, opts: CollectorOptions = {}): Promise<RunningCollector> {
  const networks = new Map((opts.networks ?? allNetworks().filter((n) => n.enabled)).map((n) => [n.id, n]));
  let collector!: Collector;
  let tick!: (full?: boolean) => Promise<void>;
  const worker = await startWorkerService({
    name: 'collector',
    schema: SCHEMA,
    entities,
    migrations,
    config,
    log: opts.log,
    run: async ({ orm, bus, relay, log }) => {
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
      collector = new Collector({
        em: orm.em,
        bus,
        kickRelay: () => relay.kick(),
        log,
        networks,
        chainFor,
        usdPrices: opts.usdPrices ?? usdPrices(process.env.RATES_STATIC ?? DEFAULT_PRICES),
        hooks: opts.hooks,
      });
      // The signer asks, inside each collect_sign we send, whether it is one of our stored steps.
      bus.reply('collector.verify_step', async (claim) => {
        const reason = await collector.verifyStep(claim.requestId, claim);
        if (reason === null) return { ok: true as const };
        log.warn({ stepId: claim.requestId, merchantId: claim.merchantId, reason }, 'collector.verify_step: not a step waiting for its signature');
        return { ok: false as const, reason };
      });

      const consumers = [
        await bus.consume({
          durable: 'collector-addresses',
          types: ['address.created'],
          handler: async (event) => {
            const a = event.data;
            await orm.em
              .fork()
              .execute(
                `insert into "${SCHEMA}".addresses (address_id, merchant_id, address, type, networks, coins) values (?, ?, ?, ?, ?::text[], ?::text[]) on conflict do nothing`,
                [a.addressId, a.merchantId, a.address, a.type, textArray(a.networks), textArray(a.coins)],
              );
          },
        }),
        await bus.consume({
          durable: 'collector-policies',
          types: ['collection.policy_updated'],
          handler: async (event) => {
            const p = event.data;
            // Newest wins: a replayed older policy never overwrites a newer one.
            await orm.em.fork().execute(
              `insert into "${SCHEMA}".policies (merchant_id, coin_id, network_id, collect_threshold, hot_target, cold_wallet_id, cold_wallet_address, max_fee_ratio, updated_at)
               values (?, ?, ?, ?, ?, ?, ?, ?, ?)
               on conflict (merchant_id, coin_id) do update set collect_threshold = excluded.collect_threshold, hot_target = excluded.hot_target,
                 cold_wallet_id = excluded.cold_wallet_id, cold_wallet_address = excluded.cold_wallet_address, max_fee_ratio = excluded.max_fee_ratio,
                 updated_at = excluded.updated_at
               where policies.updated_at <= excluded.updated_at`,
              [p.merchantId, p.coinId, p.networkId, p.collectThreshold, p.hotTarget, p.coldWalletId, p.coldWalletAddress, p.maxFeeRatio, new Date(p.updatedAt)],
            );
          },
        }),
        await bus.consume({
          durable: 'collector-cold-wallets',
          types: ['address.cold_wallet_updated'],
          handler: async (event) => {
            const c = event.data;
            // Newest wins: a replayed older status never overwrites a newer one.
            await orm.em.fork().execute(
              `insert into "${SCHEMA}".cold_wallets (address_id, merchant_id, network_id, address, status, usable_from, updated_at) values (?, ?, ?, ?, ?, ?, ?)
               on conflict (address_id) do update set status = excluded.status, usable_from = excluded.usable_from, updated_at = excluded.updated_at
               where cold_wallets.updated_at <= excluded.updated_at`,
              [c.addressId, c.merchantId, c.networkId, c.address, c.status, c.usableFrom ? new Date(c.usableFrom) : null, new Date(c.at)],
            );
          },
        }),
        await bus.consume({
          durable: 'collector-holds',
          types: ['compliance.deposit_hold'],
          handler: async (event) => {
            const h = event.data;
            // A clean sender's deposit was never held here. Sweeping a deposit compliance has not
            // decided on yet is allowed: it stays at the merchant's own addresses and the books
            // keep it in held (see the merchant's deposit ledger) until it is cleared.
            if (h.action === 'CLEAR') return;
            // HOLD, then BLOCK or RELEASE: the later state wins, a replay never moves it back.
            await orm.em.fork().execute(
              `insert into "${SCHEMA}".holds (deposit_key, merchant_id, address_id, coin_id, amount, state) values (?, ?, ?, ?, ?, ?)
               on conflict (deposit_key) do update set state = excluded.state, updated_at = now()
               where holds.state = 'HOLD' and excluded.state <> 'HOLD'`,
              [`${h.network}:${h.txHash}:${h.index}`, h.merchantId, h.addressId, h.coinId, h.amount, h.action],
            );
          },
        }),
        await bus.consume({
          durable: 'collector-deposits',
          types: ['chain.transfer.confirmed'],
          filter: 'chain.*.transfer.confirmed.>',
          handler: async (event, ctx) => {
            const t = event.data;
            // Only the subject's network is vouched for by the bus permissions (see event-subject).
            const problem = chainEventProblem(ctx.subject, t.network, () => true);
            if (problem) {
              countEvent('collector.chain_event.dropped');
              ctx.log.warn({ subject: ctx.subject, network: t.network, reason: problem }, 'chain event dropped');
              throw new PoisonMessageError(`chain event dropped: ${problem}`);
            }
            // Our own sweeps and top-ups are internal: they never trigger a plan.
            if (t.internal || !networks.has(t.network)) return;
            await applyOnce(orm.em, SCHEMA, 'collector-deposits', event.id, async (tx) => {
              const [a] = await tx.execute<{ type: string }[]>(`select type from "${SCHEMA}".addresses where address_id = ?`, [t.addressId]);
              if (a && a.type !== 'USER') return;
              await tx.execute(`insert into "${SCHEMA}".dirty (merchant_id, network_id, coin_id) values (?, ?, ?) on conflict do nothing`, [
                t.merchantId,
                t.network,
                t.coinId,
              ]);
            });
            wake();
          },
        }),
      ];

      // Plan from copies that are current: wait (bounded) until the address, policy and hold
      // consumers have taken in what the stream already holds.
      const deadline = Date.now() + (opts.catchUpMs ?? 10_000);
      for (const durable of ['collector-addresses', 'collector-policies', 'collector-cold-wallets', 'collector-holds']) {
        for (;;) {
          const info = await bus.jsm.consumers.info(bus.streamName, durable).catch(() => null);
          if (!info || (info.num_pending === 0 && info.num_ack_pending === 0) || Date.now() > deadline) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      }

      let running: Promise<void> | null = null;
      let again = false;
      let lastFull = 0;
      const passMs = opts.passMs ?? 60_000;
      tick = async (full = false) => {
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
                try {
                  const startedAt = new Date();
                  const plan = await collector.planOne(c.merchantId, c.networkId, c.coinId);
                  if (!plan) await collector.clearDirty(c.merchantId, c.coinId, startedAt);
                } catch (err) {
                  log.warn({ ...c, err: (err as Error).message }, 'planning failed; retried on the next pass');
                }
              }
              for (const plan of await collector.openPlans()) {
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
          } while (again && !stopping);
        })().finally(() => {
          running = null;
        });
        return running;
      };
      let stopping = false;
      const wake = () => void tick().catch(() => undefined);
      const timer = setInterval(wake, opts.tickMs ?? 1000);
      wake();
      return {
        stop: async () => {
          stopping = true;
          clearInterval(timer);
          collector.stop();
          for (const c of consumers) await c.stop();
          await running?.catch(() => undefined);
          for (const p of pools.values()) await p.close().catch(() => undefined);
        },
      };
    },
  });
  return { ...worker, collector, tick: (full) => tick(full) };
}

function textArray(values: string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, '')}"`).join(',')}}`;
}
