import { randomUUID } from 'node:crypto';
import { type NetworkConfig, allNetworks } from '@cpg/chains';
import type { EntityManager } from '@cpg/core/db';
import type { RateService } from '@cpg/core/rates';
import { badInput } from '@cpg/core/graphql';
import { SCHEMA } from '../../migrations';
import { addressKey } from '../domain/address';
import { type Assessment, type Facts, type ProviderOutcome, type Thresholds, STRUCTURING_WINDOW_MS, assess } from '../domain/engine';
import { fiatCents } from '../domain/fiat';
import type { GreyAction } from '../domain/greylist';
import type { SanctionsList } from '../domain/sanctions';
import type { KytProvider } from '../providers/provider';

export const T = `"${SCHEMA}"`;

export interface ScreenInput {
  merchantId: string | null;
  networkId: string;
  /** null: the chain does not name one sender. */
  address: string | null;
  direction: 'IN' | 'OUT' | 'ADDRESS';
  coinId: string | null;
  amount: bigint | null;
  subjectRef: string;
  /** Who asked: `chain.transfer`, `rpc:compliance.screen`, `merchant:<id>`, `operator`. */
  actor: string;
  /** The transfer being screened, so velocity does not count it twice. */
  transfer?: { txHash: string; index: number };
}

/** What is fetched before the transaction: slow, remote, no locks held while waiting. */
export interface Prefetched {
  provider: ProviderOutcome | null;
  usdCents: bigint | null | 'unavailable';
  rate: string | null;
}

export interface AssessmentRow {
  id: string;
  merchant_id: string | null;
  subject: string;
  subject_ref: string;
  network_id: string;
  address: string | null;
  direction: string;
  coin_id: string | null;
  amount: string | null;
  usd_cents: string | null;
  score: number;
  level: string;
  decision: 'ALLOW' | 'REVIEW' | 'BLOCK';
  reasons: string[];
  decided_by: string;
  actor: string;
  screened_at: Date;
}

export interface ScreeningDeps {
  sanctions: SanctionsList;
  provider: KytProvider | null;
  providerRequired: boolean;
  thresholds: Thresholds;
  rates: RateService;
  /** Chain settings the networks are built from (CHAIN_RPC_<NETWORK>, DEV_CHAINS, ...), as the server read them. */
  env?: Record<string, string | undefined>;
}

/**
 * Gathers the facts of one screening (lists, history, provider, fiat value), runs the engine and
 * stores the assessment, append-only. Usable inside a caller's transaction.
 */
export class ScreeningService {
  private readonly networks: Map<string, NetworkConfig>;
  constructor(readonly deps: ScreeningDeps) {
    // Without `env`, allNetworks reads the process's chain settings (networks.ts is the chain layer's config module).
    this.networks = new Map(allNetworks(deps.env).map((n) => [n.id, n]));
  }

  network(id: string): NetworkConfig {
    const n = this.networks.get(id);
    if (!n) throw badInput(`unknown network ${id}`, { field: 'networkId' });
    return n;
  }

  async prefetch(input: Pick<ScreenInput, 'networkId' | 'address' | 'coinId' | 'amount'>): Promise<Prefetched> {
    const network = this.network(input.networkId);
    const provider = this.deps.provider && input.address ? await this.deps.provider.screen(input.networkId, input.address) : null;
    let usdCents: Prefetched['usdCents'] = null;
    let rate: string | null = null;
    if (input.amount !== null && input.coinId) {
      const coin = network.coins.find((c) => c.id === input.coinId);
      if (!coin) usdCents = 'unavailable';
      else {
        try {
          rate = (await this.deps.rates.getRate(coin.symbol, 'USD')).rate;
          usdCents = fiatCents(input.amount, coin.decimals, rate);
        } catch {
          usdCents = 'unavailable';
        }
      }
    }
    return { provider, usdCents, rate };
  }

  /** Facts from our own tables, read in `tx`. */
  async facts(tx: EntityManager, input: ScreenInput, pre: Prefetched, now: Date): Promise<Facts> {
    const network = this.network(input.networkId);
    const key = input.address ? addressKey(input.address) : null;
    let grey: Facts['grey'] = [];
    let prior: Facts['prior'] = [];
    let exposure: Facts['exposure'] = null;
    if (key) {
      const rows = await tx.execute<
        { id: string; merchant_id: string | null; network_id: string; address: string; action: GreyAction; reason: string; source: string }[]
      >(
        `select id, merchant_id, network_id, address, action, reason, source from ${T}.grey_list
          where network_id = ? and address_key = ? and removed_at is null and (merchant_id is null or merchant_id = ?)`,
        [input.networkId, key, input.merchantId],
      );
      // The query already picks the entries that apply (network, address, global or this merchant's).
      grey = rows.map((r) => ({
        id: r.id,
        merchantId: r.merchant_id,
        networkId: r.network_id,
        address: r.address,
        action: r.action,
        reason: r.reason,
        source: r.source,
      }));
      if (input.direction === 'IN') {
        const since = new Date(now.getTime() - STRUCTURING_WINDOW_MS);
        const history = await tx.execute<{ seen_at: Date; usd_cents: string | null }[]>(
          `select seen_at, usd_cents::text as usd_cents from ${T}.transfers
            where network_id = ? and from_key = ? and merchant_id = ? and seen_at >= ? and not (tx_hash = ? and idx = ?)
            order by seen_at desc limit 1000`,
          // Per merchant: one exchange's hot wallet paying many merchants' customers is ordinary;
          // many payments to one merchant from one sender is what velocity and structuring look for.
          [input.networkId, key, input.merchantId, since, input.transfer?.txHash ?? '', input.transfer?.index ?? -1],
        );
        prior = history.map((h) => ({ at: new Date(h.seen_at), usdCents: h.usd_cents === null ? null : BigInt(h.usd_cents) }));
      }
      const [exp] = await tx.execute<{ source_address: string; tx_hash: string }[]>(
        `select source_address, tx_hash from ${T}.exposures where network_id = ? and address_key = ? order by created_at limit 1`,
        [input.networkId, key],
      );
      if (exp) exposure = { source: exp.source_address, txHash: exp.tx_hash };
    }
    return {
      address: input.address,
      networkId: input.networkId,
      direction: input.direction,
      sanction: input.address ? this.deps.sanctions.lookup(network.family, network.nativeCoin.symbol, input.address) : null,
      grey,
      usdCents: pre.usdCents,
      prior,
      exposure,
      provider: pre.provider,
      providerRequired: this.deps.providerRequired,
      now,
    };
  }

  /** Runs the engine and stores the decision in `tx`. */
  async screen(tx: EntityManager, input: ScreenInput, pre: Prefetched, now = new Date()): Promise<{ row: AssessmentRow; assessment: Assessment }> {
    const facts = await this.facts(tx, input, pre, now);
    const assessment = assess(facts, this.deps.thresholds);
    const decidedBy = ['rules', this.deps.provider ? this.deps.provider.name : null, `ofac:${this.deps.sanctions.meta.date}`].filter(Boolean).join('+');
    const inputs = {
      networkId: input.networkId,
      address: input.address,
      direction: input.direction,
      coinId: input.coinId,
      amount: input.amount?.toString() ?? null,
      rate: pre.rate,
      usdCents: typeof pre.usdCents === 'bigint' ? pre.usdCents.toString() : pre.usdCents,
      sanctionsList: this.deps.sanctions.meta,
      greyListEntries: facts.grey.map((g) => g.id),
      priorTransfers24h: facts.prior.length,
      exposure: facts.exposure,
      provider: pre.provider,
      transfer: input.transfer ?? null,
    };
    const [row] = await tx.execute<AssessmentRow[]>(
      `insert into ${T}.assessments (id, merchant_id, subject, subject_ref, network_id, address, direction, coin_id, amount, usd_cents, score, level, decision,
         reasons, hits, inputs, decided_by, actor, screened_at)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?::numeric, ?::bigint, ?, ?, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?) returning *`,
      [
        randomUUID(),
        input.merchantId,
        input.address ?? 'unknown sender',
        input.subjectRef,
        input.networkId,
        input.address,
        input.direction,
        input.coinId,
        input.amount?.toString() ?? null,
        typeof pre.usdCents === 'bigint' ? pre.usdCents.toString() : null,
        assessment.score,
        assessment.level,
        assessment.decision,
        JSON.stringify(assessment.reasons),
        JSON.stringify(assessment.hits),
        JSON.stringify(inputs),
        decidedBy,
        input.actor,
        now,
      ],
    );
    return { row: row!, assessment };
  }
}

export function toRiskAssessment(r: AssessmentRow) {
  return { id: r.id, subject: r.subject, score: r.score, level: r.level, decision: r.decision, reasons: r.reasons, screenedAt: new Date(r.screened_at) };
}
