import type { Bus, RpcReply } from '@cpg/core/bus';
import type { MikroORM } from '@cpg/core/db';
import { AppError } from '@cpg/core/graphql';
import { SCHEMA } from '../../migrations';
import { HOLD_TOMBSTONE, LedgerService } from '../ledger/ledger-service';
import { holdForWithdrawal, holdKey, withdrawalReference } from '../ledger/withdrawal-postings';

/**
 * `ledger.hold` (request-reply from the withdrawal subgraph): available -> held for one
 * withdrawal, under the ledger's row locks, so concurrent requests never overdraw. Idempotent per
 * withdrawal id (the posting key); a hold whose withdrawal was already released finds the
 * release's tombstone on its key and is refused with RELEASED, taking nothing.
 */
export function serveLedgerHold(bus: Bus, orm: MikroORM): void {
  bus.reply('ledger.hold', async (req): Promise<RpcReply<'ledger.hold'>> => {
    const em = orm.em.fork();
    const ledger = new LedgerService(em);
    try {
      const posted = await ledger.post(
        holdForWithdrawal({ merchantId: req.merchantId, coinId: req.coinId, withdrawalId: req.withdrawalId, amount: BigInt(req.amount) }),
      );
      if (posted.replayed) {
        // A repeat of a hold whose withdrawal has since ended (released or settled) holds nothing.
        const [ended] = await em.execute<{ kind: string }[]>(`select kind from "${SCHEMA}".ledger_transactions where idempotency_key = ?`, [
          `${withdrawalReference(req.withdrawalId)}:finish`,
        ]);
        if (ended?.kind === 'withdrawal_release') return { ok: false, reason: 'RELEASED' };
      }
      return { ok: true };
    } catch (err) {
      if (err instanceof AppError && err.code === 'INSUFFICIENT_FUNDS') return { ok: false, reason: 'INSUFFICIENT_FUNDS' };
      if (err instanceof AppError && err.code === 'CONFLICT') {
        const [row] = await em.execute<{ fingerprint: string }[]>(`select fingerprint from "${SCHEMA}".ledger_transactions where idempotency_key = ?`, [
          holdKey(req.withdrawalId),
        ]);
        if (row?.fingerprint === HOLD_TOMBSTONE) return { ok: false, reason: 'RELEASED' };
      }
      throw err;
    }
  });
}
