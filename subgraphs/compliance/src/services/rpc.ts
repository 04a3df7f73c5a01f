import type { ServiceDeps } from '@cpg/core/http';
import { raiseAlert } from './alerts';
import type { ScreeningService } from './screening';

/**
 * `compliance.screen`: the withdrawal subgraph asks before it takes the ledger hold. The decision
 * is stored like every other; REVIEW and BLOCK also raise an alert (no funds are held here: the
 * withdrawal subgraph rejects or routes to approval).
 */
export function serveScreenRpc(deps: ServiceDeps, screening: ScreeningService): void {
  deps.bus.reply('compliance.screen', async (req) => {
    const amount = BigInt(req.amount);
    const pre = await screening.prefetch({ networkId: req.networkId, address: req.address, coinId: req.coinId, amount });
    const row = await deps.orm.em.fork().transactional(async (tx) => {
      const now = new Date();
      const { row } = await screening.screen(
        tx,
        {
          merchantId: req.merchantId,
          networkId: req.networkId,
          address: req.address,
          direction: req.direction,
          coinId: req.coinId,
          amount,
          subjectRef: req.subjectRef,
          actor: 'rpc:compliance.screen',
        },
        pre,
        now,
      );
      await raiseAlert(tx, row, null, now);
      return row;
    });
    deps.relay.kick();
    return { assessmentId: row.id, decision: row.decision, score: row.score, level: row.level, reasons: row.reasons };
  });
}
