import type { EntityManager } from '@cpg/core/db';
import { AwaitingReport } from './awaiting-report';
import { CopyStore } from './copy-store';
import type { Plan } from './domain/planner';
import type { StepClaim } from './domain/verify-step';
import { type PlanRow, PlanStore } from './plan-store';
import { Planning } from './planning';
import { StepRunner, type StepRunnerDeps } from './step-runner';

export type { CollectorHooks } from './step-runner';
export type { StepStatus } from './plan-store';

/** Besides its own, what the collector hands on to its step runner. */
export interface CollectorDeps extends Pick<StepRunnerDeps, 'bus' | 'kickRelay' | 'log' | 'networks' | 'chainFor' | 'hooks'> {
  em: EntityManager;
  /** USD price per whole coin by symbol (for valuing gas in tokens). */
  usdPrices: Record<string, string>;
}

/**
 * Plans sweeps and carries them out step by step; every state change is committed with its
 * event. Wiring only: the stores (copies of other services' data, plans and steps), planning and
 * step execution are their own modules.
 */
export class Collector {
  readonly copies: CopyStore;
  readonly plans: PlanStore;
  private readonly planning: Planning;
  private readonly runner: StepRunner;
  private stopped = false;

  constructor(private readonly deps: CollectorDeps) {
    this.copies = new CopyStore(deps.em);
    this.plans = new PlanStore(deps.em);
    const report = new AwaitingReport(this.plans, deps.kickRelay);
    const common = { copies: this.copies, plans: this.plans, kickRelay: deps.kickRelay, log: deps.log, networks: deps.networks, chainFor: deps.chainFor };
    this.planning = new Planning({ ...common, report, usdPrices: deps.usdPrices });
    this.runner = new StepRunner({ ...common, bus: deps.bus, hooks: deps.hooks, stopped: () => this.stopped });
  }

  /** Called when the worker stops: no new step move is started. */
  stop(): void {
    this.stopped = true;
  }

  /** (merchant, network, coin) with USER addresses and no open plan, on a network collected here; only dirty ones unless a full pass. */
  async candidates(onlyDirty: boolean): Promise<{ merchantId: string; networkId: string; coinId: string }[]> {
    const rows = await this.plans.candidates(onlyDirty);
    return rows.filter((r) => this.deps.networks.has(r.network_id)).map((r) => ({ merchantId: r.merchant_id, networkId: r.network_id, coinId: r.coin_id }));
  }

  /** Builds and stores a plan for one merchant and coin; null when there is nothing worth doing. */
  async planOne(merchantId: string, networkId: string, coinId: string): Promise<Plan | null> {
    const network = this.deps.networks.get(networkId);
    // A recent step of ours gone from the chain is sent again before anything new is signed.
    if (network && (await this.runner.reopenVanished(merchantId, network))) return null;
    return this.planning.planOne(merchantId, networkId, coinId);
  }

  /** A pair planned with nothing worth doing leaves the fast lane; the periodic pass looks again. */
  clearDirty(merchantId: string, coinId: string, markedBefore: Date): Promise<void> {
    // A deposit marked while the pass was reading balances keeps its mark for the next tick.
    return this.plans.clearDirty(merchantId, coinId, markedBefore);
  }

  openPlans(): Promise<PlanRow[]> {
    return this.plans.openPlans();
  }

  /** Moves every runnable step of a plan as far as it can go now; returns the plan's status. */
  advance(plan: PlanRow): Promise<'OPEN' | 'DONE' | 'FAILED'> {
    return this.runner.advance(plan);
  }

  /** Answers `collector.verify_step` (see StepRunner.verifyStep). */
  verifyStep(requestId: string, claim: StepClaim): Promise<string | null> {
    return this.runner.verifyStep(requestId, claim);
  }
}
