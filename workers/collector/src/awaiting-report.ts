import type { CoinConfig, NetworkConfig } from '@cpg/chains';
import type { Logger } from '@cpg/core/logger';
import { type AwaitingEntry, newReasons, nodeUnavailable } from './domain/waiting';
import type { PlanStore } from './plan-store';

/**
 * What waits at a merchant's USER addresses, and why: published (collection.awaiting_updated)
 * when the list changed, each new reason logged once per change, not per pass.
 */
export class AwaitingReport {
  constructor(
    private readonly plans: PlanStore,
    private readonly kickRelay: () => void,
  ) {}

  /** Called after every planning pass of (merchant, coin) with the full list; idempotent. */
  async report(merchantId: string, network: NetworkConfig, coin: CoinConfig, entries: AwaitingEntry[], log: Logger): Promise<void> {
    const { changed, previous } = await this.plans.replaceAwaiting(merchantId, network, coin, entries);
    for (const e of newReasons(previous, entries)) {
      log.info(
        { address: e.address, code: e.code, amount: e.amount.toString(), estimatedFee: e.estimatedFee?.toString() ?? null },
        `collection waits at ${e.address}: ${e.reason}`,
      );
    }
    if (changed) this.kickRelay();
  }

  /** Runs a chain read; when the node does not answer, what was waiting is reported as waiting for it, and the error thrown on. */
  async unlessUnavailable<T>(merchantId: string, network: NetworkConfig, coin: CoinConfig, log: Logger, read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      const reason = nodeUnavailable(network.id, (err as Error).message ?? String(err));
      const entries = (await this.plans.awaiting(merchantId, coin.id)).map((e): AwaitingEntry => ({
        ...e,
        code: 'node_unavailable',
        reason,
        estimatedFee: null,
      }));
      if (entries.length) await this.report(merchantId, network, coin, entries, log).catch(() => undefined);
      throw err;
    }
  }
}
