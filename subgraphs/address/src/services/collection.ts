import { getBalances } from '@cpg/chains/balance';
import type { RpcTransport } from '@cpg/chains';
import { mapLimit } from '@cpg/chains/concurrency';
import { type EntityManager, writeOutbox } from '@cpg/core/db';
import { type MerchantIdentity, badInput, notFound, unavailable } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import { formatAmount } from '@cpg/core/money';
import { SCHEMA } from '../../migrations';
import { AddressEntity, type AddressRow } from '../entities';
import type { CatalogueCoin } from '../resolvers/parents';
import type { Catalogue, CatalogueNetwork } from '../domain/catalogue';
import { defaultPolicy, parseMaxFeeRatio, parsePolicyAmount } from '../domain/collection';
import { decodeCursor, encodeCursor, pageSize } from '../domain/cursor';

export interface SetCollectionPolicyInput {
  coinId: string;
  collectThreshold: string;
  hotTarget: string;
  coldWalletId?: string | null;
  maxFeeRatio?: string | null;
}

/** What the CollectionPolicy type resolves from. */
export interface PolicyView {
  coin: CatalogueCoin;
  collectThreshold: string;
  hotTarget: string;
  coldWallet: AddressRow | null;
  maxFeeRatio: string;
}

export interface SweepView {
  id: string;
  network: CatalogueNetwork | null;
  coin: CatalogueCoin | null;
  fromAddresses: string[];
  toAddress: string;
  amount: string;
  fee: string | null;
  kind: string;
  txHash: string | null;
  status: string;
  createdAt: Date;
}

/** What the AwaitingCollection type resolves from. */
export interface AwaitingView {
  address: AddressRow;
  coin: CatalogueCoin;
  amount: string;
  reason: string;
  estimatedFee: string | null;
  code: string;
  feeCoin: CatalogueCoin | null;
  updatedAt: Date;
}

interface AwaitingDbRow {
  coin_id: string;
  fee_coin_id: string;
  entries: { addressId: string; amount: string; code: string; reason: string; estimatedFee: string | null }[];
  reported_at: Date;
}

/** The most awaitingCollection answers with (largest amounts first); the gateway prices the list at it. */
export const MAX_AWAITING = 500;

export interface WalletBalanceView {
  address: AddressRow;
  coin: CatalogueCoin;
  onChain: string;
}

/** One pooled transport per network for balance reads, created on first use. */
export type TransportFor = (network: CatalogueNetwork) => RpcTransport;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Balance reads are per request: bound the work one query can cause. */
export const MAX_BALANCE_ADDRESSES = 500;
const TYPE_ORDER = ['USER', 'HOT', 'TOKENS_COLLECTOR', 'COLD'];

interface PolicyDbRow {
  coin_id: string;
  collect_threshold: string;
  hot_target: string;
  cold_wallet_id: string | null;
  max_fee_ratio: string;
}

interface SweepDbRow {
  id: string;
  network_id: string;
  coin_id: string;
  kind: string;
  from_addresses: string[];
  to_address: string;
  amount: string;
  fee: string | null;
  fee_coin_id: string;
  tx_hash: string | null;
  status: string;
  created_at: Date;
}

/**
 * Collection policies, sweeps and wallet balances. A policy is written with its
 * `collection.policy_updated` outbox row in one transaction, so the collector's copy never misses
 * a change.
 */
export class CollectionService {
  constructor(
    private readonly em: EntityManager,
    private readonly catalogue: Catalogue,
    private readonly transportFor: TransportFor,
    private readonly onCommitted: () => void = () => undefined,
    private readonly log?: Logger,
  ) {}

  private coinOf(coinId: string): CatalogueCoin {
    const found = this.catalogue.coin(coinId);
    if (!found) throw badInput(`unknown coin "${coinId}"`, { field: 'coinId' });
    if (!found.network.enabled) throw badInput(`network ${found.network.id} is not enabled on this gateway`, { field: 'coinId' });
    return found;
  }

  async setPolicy(caller: MerchantIdentity, input: SetCollectionPolicyInput): Promise<PolicyView> {
    const row = this.coinOf(input.coinId);
    const { coin, network } = row;
    const collectThreshold = parsePolicyAmount(input.collectThreshold, coin, 'collectThreshold', false);
    const hotTarget = parsePolicyAmount(input.hotTarget, coin, 'hotTarget', true);
    const maxFeeRatio = parseMaxFeeRatio(input.maxFeeRatio, defaultPolicy(coin, network.dev === true).maxFeeRatio);
    let cold: AddressRow | null = null;
    if (input.coldWalletId !== null && input.coldWalletId !== undefined) {
      const found = UUID.test(input.coldWalletId) ? await this.em.fork().findOne(AddressEntity, { id: input.coldWalletId.toLowerCase() }) : null;
      // Another merchant's address is reported exactly like a missing one.
      if (!found || found.merchantId !== caller.merchantId) throw notFound('cold wallet');
      if (found.type !== 'COLD')
        throw badInput(`coldWalletId must be a COLD address (registerColdWallet); this one is ${found.type}`, { field: 'coldWalletId' });
      if (found.coldStatus === 'REJECTED') throw badInput('this cold wallet was rejected by the operator; register another', { field: 'coldWalletId' });
      if (found.networkId !== network.id && !found.networks.includes(network.id)) {
        throw badInput(`the cold wallet is on ${found.networkId}, not on ${network.id}`, { field: 'coldWalletId' });
      }
      cold = found;
    }
    const updatedAt = new Date();
    await this.em.fork().transactional(async (tx) => {
      await tx.execute(
        `insert into "${SCHEMA}".collection_policies (merchant_id, coin_id, network_id, collect_threshold, hot_target, cold_wallet_id, max_fee_ratio, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?)
         on conflict (merchant_id, coin_id) do update set collect_threshold = excluded.collect_threshold, hot_target = excluded.hot_target,
           cold_wallet_id = excluded.cold_wallet_id, max_fee_ratio = excluded.max_fee_ratio, updated_at = excluded.updated_at`,
        [caller.merchantId, coin.id, network.id, collectThreshold.toString(), hotTarget.toString(), cold?.id ?? null, maxFeeRatio, updatedAt],
      );
      await writeOutbox(
        tx,
        SCHEMA,
        'collection.policy_updated',
        {
          merchantId: caller.merchantId,
          networkId: network.id,
          coinId: coin.id,
          collectThreshold: collectThreshold.toString(),
          hotTarget: hotTarget.toString(),
          coldWalletId: cold?.id ?? null,
          coldWalletAddress: cold?.address ?? null,
          maxFeeRatio,
          updatedAt: updatedAt.toISOString(),
        },
        { key: caller.merchantId },
      );
    });
    this.onCommitted();
    return {
      coin: row,
      collectThreshold: formatAmount(collectThreshold, coin.decimals),
      hotTarget: formatAmount(hotTarget, coin.decimals),
      coldWallet: cold,
      maxFeeRatio,
    };
  }

  /** One entry per coin of every enabled network: the stored policy, or the defaults. */
  async listPolicies(merchantId: string): Promise<PolicyView[]> {
    const em = this.em.fork();
    const stored = await em.execute<PolicyDbRow[]>(
      `select coin_id, collect_threshold::text, hot_target::text, cold_wallet_id, max_fee_ratio from "${SCHEMA}".collection_policies where merchant_id = ?`,
      [merchantId],
    );
    const byCoin = new Map(stored.map((r) => [r.coin_id, r]));
    const coldIds = stored.flatMap((r) => (r.cold_wallet_id ? [r.cold_wallet_id] : []));
    const colds = coldIds.length ? await em.find(AddressEntity, { id: { $in: coldIds } }) : [];
    const coldById = new Map(colds.map((a) => [a.id, a]));
    const out: PolicyView[] = [];
    for (const network of this.catalogue.list()) {
      if (!network.enabled) continue;
      for (const coin of network.coins) {
        const s = byCoin.get(coin.id);
        const d = defaultPolicy(coin, network.dev === true);
        out.push({
          coin: { coin, network },
          collectThreshold: formatAmount(s ? BigInt(s.collect_threshold) : d.collectThreshold, coin.decimals),
          hotTarget: formatAmount(s ? BigInt(s.hot_target) : d.hotTarget, coin.decimals),
          coldWallet: s?.cold_wallet_id ? (coldById.get(s.cold_wallet_id) ?? null) : null,
          maxFeeRatio: s ? s.max_fee_ratio : d.maxFeeRatio,
        });
      }
    }
    return out;
  }

  /** Newest first is what an operator scanning for problems wants; the cursor is (createdAt, id) descending. */
  async listSweeps(
    merchantId: string,
    first: number | null | undefined,
    after: string | null | undefined,
  ): Promise<{ nodes: SweepView[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }> {
    const limit = pageSize(first);
    const params: unknown[] = [merchantId];
    let where = 'merchant_id = ?';
    if (after) {
      const pos = decodeCursor(after);
      where += ' and (created_at, id) < (?, ?)';
      params.push(pos.createdAt, pos.id);
    }
    params.push(limit + 1);
    const rows = await this.em
      .fork()
      .execute<SweepDbRow[]>(
        `select id, network_id, coin_id, kind, from_addresses, to_address, amount::text, fee::text, fee_coin_id, tx_hash, status, created_at from "${SCHEMA}".sweeps where ${where} order by created_at desc, id desc limit ?`,
        params,
      );
    const page = rows.slice(0, limit);
    const nodes = page.map((r): SweepView => {
      const coin = this.catalogue.coin(r.coin_id) ?? null;
      const feeCoin = this.catalogue.coin(r.fee_coin_id);
      const createdAt = new Date(r.created_at);
      return {
        id: r.id,
        network: this.catalogue.network(r.network_id) ?? null,
        coin,
        fromAddresses: r.from_addresses,
        toAddress: r.to_address,
        amount: coin ? formatAmount(BigInt(r.amount), coin.coin.decimals) : r.amount,
        fee: r.fee === null ? null : feeCoin ? formatAmount(BigInt(r.fee), feeCoin.coin.decimals) : r.fee,
        kind: r.kind,
        txHash: r.tx_hash,
        status: r.status,
        createdAt,
      };
    });
    const last = page[page.length - 1];
    return {
      // A coin dropped from configuration since the sweep cannot be shown (Coin! is required).
      nodes: nodes.filter((n) => n.coin && n.network),
      pageInfo: { hasNextPage: rows.length > limit, endCursor: last ? encodeCursor({ createdAt: new Date(last.created_at), id: last.id }) : null },
    };
  }

  /**
   * What the collector leaves at the merchant's USER addresses for now and why, as it last
   * reported (collection.awaiting_updated): coins in catalogue order, largest amounts first.
   */
  async listAwaiting(merchantId: string, networkId: string | null | undefined): Promise<AwaitingView[]> {
    if (networkId !== null && networkId !== undefined && !this.catalogue.network(networkId))
      throw badInput(`unknown network "${networkId}"`, { field: 'networkId' });
    const em = this.em.fork();
    const rows = await em.execute<AwaitingDbRow[]>(
      `select coin_id, fee_coin_id, entries, reported_at from "${SCHEMA}".awaiting_collection
        where merchant_id = ? and jsonb_array_length(entries) > 0 ${networkId ? 'and network_id = ?' : ''}`,
      networkId ? [merchantId, networkId] : [merchantId],
    );
    const ids = [...new Set(rows.flatMap((r) => r.entries.map((e) => e.addressId)))];
    const addresses = ids.length ? await em.find(AddressEntity, { id: { $in: ids }, merchantId }) : [];
    const byId = new Map(addresses.map((a) => [a.id, a]));
    const coinPos = new Map(
      this.catalogue
        .list()
        .flatMap((n) => n.coins.map((c) => c.id))
        .map((id, i) => [id, i]),
    );
    const out: AwaitingView[] = [];
    for (const r of rows.sort((a, b) => (coinPos.get(a.coin_id) ?? 1e9) - (coinPos.get(b.coin_id) ?? 1e9))) {
      const coin = this.catalogue.coin(r.coin_id);
      // A coin dropped from configuration since the report cannot be shown (Coin! is required).
      if (!coin) continue;
      const feeCoin = this.catalogue.coin(r.fee_coin_id) ?? null;
      const entries = [...r.entries].sort((a, b) => (BigInt(b.amount) > BigInt(a.amount) ? 1 : BigInt(b.amount) < BigInt(a.amount) ? -1 : 0));
      for (const e of entries) {
        const address = byId.get(e.addressId);
        if (!address) continue;
        out.push({
          address,
          coin,
          amount: formatAmount(BigInt(e.amount), coin.coin.decimals),
          reason: e.reason,
          estimatedFee: e.estimatedFee === null || !feeCoin ? null : formatAmount(BigInt(e.estimatedFee), feeCoin.coin.decimals),
          code: e.code,
          feeCoin,
          updatedAt: new Date(r.reported_at),
        });
      }
    }
    if (out.length > MAX_AWAITING)
      this.log?.warn({ merchantId, count: out.length }, `awaitingCollection: more than ${MAX_AWAITING} entries, answering with the first`);
    return out.slice(0, MAX_AWAITING);
  }

  /**
   * On-chain balances of the merchant's own addresses on one network, per coin each address
   * serves. A node that does not answer makes the whole answer UNAVAILABLE (a partial list would
   * read as zero balances).
   */
  async walletBalances(merchantId: string, networkId: string): Promise<WalletBalanceView[]> {
    const network = this.catalogue.network(networkId);
    if (!network) throw badInput(`unknown network "${networkId}"`, { field: 'networkId' });
    if (!network.enabled) throw unavailable(`network ${networkId} is not enabled on this gateway`);
    const rows = await this.em.fork().execute<{ id: string }[]>(
      `select id from "${SCHEMA}".addresses where merchant_id = ? and (network_id = ? or ? = any(networks))
       order by array_position(array['USER','HOT','TOKENS_COLLECTOR','COLD'], type), created_at, id limit ?`,
      [merchantId, network.id, network.id, MAX_BALANCE_ADDRESSES + 1],
    );
    if (rows.length > MAX_BALANCE_ADDRESSES) {
      this.log?.warn({ merchantId, network: network.id }, `walletBalances: more than ${MAX_BALANCE_ADDRESSES} addresses, reading the first ones`);
    }
    const ids = rows.slice(0, MAX_BALANCE_ADDRESSES).map((r) => r.id);
    const addresses = ids.length ? await this.em.fork().find(AddressEntity, { id: { $in: ids } }) : [];
    addresses.sort(
      (a, b) => TYPE_ORDER.indexOf(a.type) - TYPE_ORDER.indexOf(b.type) || a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id),
    );
    const transport = this.transportFor(network);
    const out: WalletBalanceView[] = [];
    try {
      const perCoin = await mapLimit(network.coins, 2, async (coin) => {
        const holders = addresses.filter((a) => a.type === 'COLD' || a.coins.includes(coin.id));
        const balances: bigint[] = [];
        // Bitcoin family reads many addresses per scan; EVM and Tron one call per address.
        for (let i = 0; i < holders.length; i += 100) {
          balances.push(
            ...(await getBalances(
              network,
              transport,
              holders.slice(i, i + 100).map((a) => a.address),
              coin,
            )),
          );
        }
        return { coin, holders, balances };
      });
      for (const { coin, holders, balances } of perCoin) {
        holders.forEach((a, i) => out.push({ address: a, coin: { coin, network }, onChain: formatAmount(balances[i]!, coin.decimals) }));
      }
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, network: network.id }, 'walletBalances: the node did not answer');
      throw unavailable(`network ${network.id} is not answering; balances cannot be read now`);
    }
    // Address by address, coins in the network's order.
    const pos = new Map(addresses.map((a, i) => [a.id, i]));
    const coinPos = new Map(network.coins.map((c, i) => [c.id, i]));
    return out.sort((x, y) => pos.get(x.address.id)! - pos.get(y.address.id)! || coinPos.get(x.coin.coin.id)! - coinPos.get(y.coin.coin.id)!);
  }
}
