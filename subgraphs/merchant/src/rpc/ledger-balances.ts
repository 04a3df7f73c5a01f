import type { Bus, RpcReply } from '@cpg/core/bus';
import type { MikroORM } from '@cpg/core/db';
import { LedgerService } from '../ledger/ledger-service';

/**
 * `ledger.balances` (request-reply, from the address subgraph's reconciliation): the merchant's
 * accounts per coin and the collection fees charged, as signed base-unit strings. Read-only.
 */
export function serveLedgerBalances(bus: Bus, orm: MikroORM): void {
  bus.reply('ledger.balances', async (req): Promise<RpcReply<'ledger.balances'>> => {
    const rows = await new LedgerService(orm.em.fork()).reconciliationBalances(req.merchantId);
    return {
      balances: rows.map((b) => ({
        coinId: b.coinId,
        available: b.available.toString(),
        pending: b.pending.toString(),
        held: b.held.toString(),
        debt: b.debt.toString(),
        externalChain: b.externalChain.toString(),
        externalFees: b.externalFees.toString(),
        collectionFees: b.collectionFees.toString(),
        custody: b.custody.toString(),
      })),
    };
  });
}
