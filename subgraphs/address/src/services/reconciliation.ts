import type { Bus, RpcReply } from '@cpg/core/bus';
import { getBalances } from '@cpg/chains/balance';
import type { EntityManager } from '@cpg/core/db';
import { badInput, unavailable } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import { formatAmount } from '@cpg/core/money';
import { SCHEMA } from '../../migrations';
import type { Catalogue } from '../domain/catalogue';
import type { CatalogueCoin } from '../resolvers/parents';
import type { TransportFor } from './collection';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Bitcoin-family balance reads take many addresses per scan. */
const BATCH = 100;
const LEDGER_TIMEOUT_MS = 5_000;

/** One coin of one merchant: the chain against the books, in base units. */
export interface ReconciliationFigures {
  coinId: string;
  /** Sum of the balances of the merchant's hot-side addresses on the coin's network (USER, HOT, TOKENS_COLLECTOR). */
  onChain: bigint;
  /** available + pending + held + debt (debt is zero or negative). */
  ledger: bigint;
  /**
   * What the chain already shows and the books do not yet: minus the fees of collector steps that
   * are final on chain (reported by `collection.sweep_updated`) but not yet charged to the ledger
   * (`collection.fee` not yet consumed), and minus cold forwards confirmed on chain but not yet
   * moved to custody in the ledger.
   */
  inFlight: bigint;
  /** The ledger's custody account: what confirmed cold forwards moved out of the hot side. */
  custody: bigint;
  /** onChain - (ledger + inFlight); zero when the books match the chain. */
  difference: bigint;
  /** Collector steps of the coin (or paying their fee in it) not yet final: while any are open the difference may move. */
  openSweeps: number;
  /** How many distinct addresses were read. */
  addresses: number;
}

export interface ReconciliationLineView {
  coin: CatalogueCoin;
  onChain: string;
  ledger: string;
  inFlight: string;
  difference: string;
  openSweeps: number;
  addresses: number;
  custody: string;
}

type LedgerRow = RpcReply<'ledger.balances'>['balances'][number];

/**
 * Reconciliation of one merchant's books with the chain, per coin: the on-chain balances of the
 * hot side (every address the merchant owns with keys here: USER, HOT, TOKENS_COLLECTOR) against
 * available + pending + held + debt, read from the merchant subgraph over `ledger.balances`. COLD
 * wallets are outside: what was forwarded there sits in the ledger's `custody` account, reported
 * apart (the merchant may move it on from the cold wallet without us knowing).
 */
export class ReconciliationService {
  constructor(
    private readonly em: EntityManager,
    private readonly catalogue: Catalogue,
    private readonly bus: Pick<Bus, 'request'>,
    private readonly transportFor: TransportFor,
    private readonly log?: Logger,
  ) {}

  async figures(merchantId: string): Promise<ReconciliationFigures[]> {
    if (!UUID.test(merchantId)) throw badInput('merchantId must be a UUID', { field: 'merchantId' });
    const em = this.em.fork();
    const addressRows = await em.execute<{ address: string; network_id: string; networks: string[] }[]>(
      `select address, network_id, networks from "${SCHEMA}".addresses where merchant_id = ? and type <> 'COLD'`,
      [merchantId],
    );
    const ledgerReply = await this.bus.request('ledger.balances', { merchantId }, LEDGER_TIMEOUT_MS).catch((err: Error) => {
      this.log?.warn({ err: err.message }, 'reconciliation: the ledger did not answer');
      throw unavailable('the ledger is not answering; reconciliation cannot be done now');
    });
    const ledgerOf = new Map<string, LedgerRow>(ledgerReply.balances.map((b) => [b.coinId, b]));
    const fees = await em.execute<{ fee_coin_id: string; fee: string }[]>(
      `select fee_coin_id, coalesce(sum(fee), 0)::text as fee from "${SCHEMA}".sweeps
        where merchant_id = ? and status in ('CONFIRMED', 'FAILED') and fee is not null group by fee_coin_id`,
      [merchantId],
    );
    const feesOnChain = new Map(fees.map((f) => [f.fee_coin_id, BigInt(f.fee)]));
    const forwards = await em.execute<{ coin_id: string; amount: string }[]>(
      `select coin_id, coalesce(sum(amount), 0)::text as amount from "${SCHEMA}".sweeps
        where merchant_id = ? and kind = 'cold_forward' and status = 'CONFIRMED' group by coin_id`,
      [merchantId],
    );
    const forwarded = new Map(forwards.map((f) => [f.coin_id, BigInt(f.amount)]));
    const open = await em.execute<{ coin_id: string; fee_coin_id: string }[]>(
      `select coin_id, fee_coin_id from "${SCHEMA}".sweeps where merchant_id = ? and status in ('PLANNED', 'BROADCAST')`,
      [merchantId],
    );

    // Every network the merchant has an address on or a ledger account in.
    const byNetwork = new Map<string, Set<string>>();
    for (const a of addressRows) {
      for (const n of new Set([a.network_id, ...(a.networks ?? [])])) {
        const network = this.catalogue.network(n);
        if (!network) continue;
        const set = byNetwork.get(network.id) ?? new Set<string>();
        // One EVM address serves several coins (and gets gas top-ups): read each once per coin.
        set.add(network.family === 'EVM' ? a.address.toLowerCase() : a.address);
        byNetwork.set(network.id, set);
      }
    }
    for (const coinId of ledgerOf.keys()) {
      const found = this.catalogue.coin(coinId);
      if (found && !byNetwork.has(found.network.id)) byNetwork.set(found.network.id, new Set());
    }

    const out: ReconciliationFigures[] = [];
    for (const [networkId, set] of [...byNetwork.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      const network = this.catalogue.network(networkId)!;
      if (!network.enabled) {
        this.log?.warn({ merchantId, network: networkId }, 'reconciliation: network not enabled here, skipped');
        continue;
      }
      const list = [...set];
      for (const coin of network.coins) {
        let onChain = 0n;
        try {
          for (let i = 0; i < list.length; i += BATCH) {
            for (const b of await getBalances(network, this.transportFor(network), list.slice(i, i + BATCH), coin)) onChain += b;
          }
        } catch (err) {
          this.log?.warn({ err: (err as Error).message, network: networkId }, 'reconciliation: the node did not answer');
          throw unavailable(`network ${networkId} is not answering; balances cannot be read now`);
        }
        const l = ledgerOf.get(coin.id);
        const ledger = l ? BigInt(l.available) + BigInt(l.pending) + BigInt(l.held) + BigInt(l.debt) : 0n;
        const custody = BigInt(l?.custody ?? '0');
        // Left the hot side on chain, not yet in custody (or fees not yet charged): the books follow.
        const inFlight = -((feesOnChain.get(coin.id) ?? 0n) - BigInt(l?.collectionFees ?? '0')) - ((forwarded.get(coin.id) ?? 0n) - custody);
        const openSweeps = open.filter((o) => o.coin_id === coin.id || o.fee_coin_id === coin.id).length;
        if (!l && onChain === 0n && inFlight === 0n && openSweeps === 0) continue;
        out.push({ coinId: coin.id, onChain, ledger, inFlight, difference: onChain - ledger - inFlight, openSweeps, addresses: list.length, custody });
      }
    }
    return out;
  }

  async lines(merchantId: string): Promise<ReconciliationLineView[]> {
    const figures = await this.figures(merchantId);
    return figures.map((f) => {
      const found = this.catalogue.coin(f.coinId)!;
      const d = found.coin.decimals;
      return {
        coin: { coin: found.coin, network: found.network },
        onChain: formatAmount(f.onChain, d),
        ledger: formatAmount(f.ledger, d),
        inFlight: formatAmount(f.inFlight, d),
        difference: formatAmount(f.difference, d),
        openSweeps: f.openSweeps,
        addresses: f.addresses,
        custody: formatAmount(f.custody, d),
      };
    });
  }
}
