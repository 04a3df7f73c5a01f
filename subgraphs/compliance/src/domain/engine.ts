import type { GreyEntry } from './greylist';
import type { SanctionHit } from './sanctions';
import { formatCents } from './fiat';

/**
 * The screening engine: pure rules over facts gathered by the caller. Each rule that fires says
 * why, with a decision and a score; the assessment takes the strictest decision and the highest
 * score. Rules that could not run (no sender, no rate, provider down) say so in the reasons too:
 * a screening never looks cleaner than what was actually checked.
 *
 * Scores: sanctions 100, provider identification 100, grey list BLOCK 90, exposure 70, grey
 * list REVIEW 60, structuring 65, velocity 55, provider required but unavailable 50, amount over
 * the review threshold 45, travel-rule threshold 20 (ALLOW, informational).
 * Level from the score: < 25 LOW, < 50 MEDIUM, < 75 HIGH, otherwise SEVERE.
 */

export type Decision = 'ALLOW' | 'REVIEW' | 'BLOCK';
export type Level = 'LOW' | 'MEDIUM' | 'HIGH' | 'SEVERE';

export interface RuleHit {
  rule: 'sanctions' | 'grey_list' | 'amount' | 'travel_rule' | 'velocity' | 'structuring' | 'exposure' | 'provider' | 'coverage';
  decision: Decision;
  score: number;
  reason: string;
}

export interface Assessment {
  score: number;
  level: Level;
  decision: Decision;
  reasons: string[];
  hits: RuleHit[];
}

export interface Thresholds {
  /** Travel-rule threshold in USD cents: a transfer at or above it is reported (ALLOW, noted). */
  travelRuleCents: bigint;
  /** At or above this, REVIEW. */
  reviewAboveCents: bigint;
  /** Velocity: this many transfers from one sender (this one included) within the window -> REVIEW. */
  velocityMax: number;
  velocityWindowMs: number;
  /** Structuring: this many transfers (this one included) within 24 h, each in [threshold*(1-band), threshold). */
  structuringCount: number;
  /** Band below the travel-rule threshold, in basis points (1000 = 10 %). */
  structuringBandBps: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  travelRuleCents: 100_000n,
  reviewAboveCents: 1_000_000n,
  velocityMax: 10,
  velocityWindowMs: 60 * 60_000,
  structuringCount: 3,
  structuringBandBps: 1000,
};

export const STRUCTURING_WINDOW_MS = 24 * 60 * 60_000;

/** What an external provider said, or why it could not say anything. */
export type ProviderOutcome =
  { ok: true; provider: string; identifications: { category: string; name: string }[] } | { ok: false; provider: string; error: string };

export interface PriorTransfer {
  at: Date;
  /** null when the rate was unavailable at the time. */
  usdCents: bigint | null;
}

export interface Facts {
  /** The screened counterparty; null when the chain does not tell (multi-input Bitcoin). */
  address: string | null;
  networkId: string;
  direction: 'IN' | 'OUT' | 'ADDRESS';
  sanction: SanctionHit | null;
  grey: readonly GreyEntry[];
  /** USD cents of this transfer; null = no amount (address screening); 'unavailable' = no rate. */
  usdCents: bigint | null | 'unavailable';
  /** Earlier transfers from the same sender (any merchant) within the last 24 h, newest first. */
  prior: readonly PriorTransfer[];
  /** Set when we saw this address receive funds from a BLOCKed address. */
  exposure: { source: string; txHash: string } | null;
  /** null: no provider configured. */
  provider: ProviderOutcome | null;
  providerRequired: boolean;
  now: Date;
}

const RANK: Record<Decision, number> = { ALLOW: 0, REVIEW: 1, BLOCK: 2 };

export function levelOf(score: number): Level {
  if (score < 25) return 'LOW';
  if (score < 50) return 'MEDIUM';
  if (score < 75) return 'HIGH';
  return 'SEVERE';
}

export function sanctionsRule(f: Facts): RuleHit | null {
  if (!f.sanction || !f.address) return null;
  return {
    rule: 'sanctions',
    decision: 'BLOCK',
    score: 100,
    reason: `sanctions: ${f.address} is on the OFAC SDN digital currency address list (${f.sanction.assets.join(', ')}; list of ${f.sanction.listDate})`,
  };
}

export function greyListRule(f: Facts): RuleHit[] {
  return f.grey.map((e) => ({
    rule: 'grey_list' as const,
    decision: e.action,
    score: e.action === 'BLOCK' ? 90 : 60,
    reason: `grey list (${e.merchantId ? 'merchant' : 'global'}, ${e.source}): ${e.action} - ${e.reason}`,
  }));
}

export function amountRules(f: Facts, t: Thresholds): RuleHit[] {
  if (f.usdCents === null) return [];
  if (f.usdCents === 'unavailable')
    return [{ rule: 'coverage', decision: 'ALLOW', score: 0, reason: 'amount rules not applied: no USD rate available for this coin' }];
  if (f.usdCents < t.travelRuleCents && f.usdCents < t.reviewAboveCents) return [];
  const hits: RuleHit[] = [];
  if (f.usdCents >= t.reviewAboveCents)
    hits.push({
      rule: 'amount',
      decision: 'REVIEW',
      score: 45,
      reason: `amount: USD ${formatCents(f.usdCents)} is at or above the review threshold of USD ${formatCents(t.reviewAboveCents)}`,
    });
  else if (f.usdCents >= t.travelRuleCents)
    hits.push({
      rule: 'travel_rule',
      decision: 'ALLOW',
      score: 20,
      reason: `travel rule: USD ${formatCents(f.usdCents)} is at or above USD ${formatCents(t.travelRuleCents)}; originator data required`,
    });
  return hits;
}

export function velocityRule(f: Facts, t: Thresholds): RuleHit | null {
  if (!f.address || f.direction !== 'IN' || f.prior.length + 1 < t.velocityMax) return null;
  const since = f.now.getTime() - t.velocityWindowMs;
  const count = 1 + f.prior.filter((p) => p.at.getTime() >= since && p.at.getTime() <= f.now.getTime()).length;
  if (count < t.velocityMax) return null;
  return {
    rule: 'velocity',
    decision: 'REVIEW',
    score: 55,
    reason: `velocity: ${count} transfers from ${f.address} within ${Math.round(t.velocityWindowMs / 60_000)} min (limit ${t.velocityMax - 1})`,
  };
}

// Thresholds are fixed for a process: the band's floor is worked out once per thresholds object.
const floors = new WeakMap<Thresholds, bigint>();
function structuringFloor(t: Thresholds): bigint {
  let floor = floors.get(t);
  if (floor === undefined) {
    floor = (t.travelRuleCents * BigInt(10_000 - t.structuringBandBps)) / 10_000n;
    floors.set(t, floor);
  }
  return floor;
}

export function structuringRule(f: Facts, t: Thresholds): RuleHit | null {
  if (!f.address || f.direction !== 'IN' || typeof f.usdCents !== 'bigint') return null;
  if (f.usdCents >= t.travelRuleCents || f.prior.length + 1 < t.structuringCount) return null;
  const floor = structuringFloor(t);
  if (f.usdCents < floor) return null;
  const justUnder = (c: bigint | null) => c !== null && c >= floor && c < t.travelRuleCents;
  const since = f.now.getTime() - STRUCTURING_WINDOW_MS;
  const count = 1 + f.prior.filter((p) => p.at.getTime() >= since && justUnder(p.usdCents)).length;
  if (count < t.structuringCount) return null;
  return {
    rule: 'structuring',
    decision: 'REVIEW',
    score: 65,
    reason: `structuring: ${count} transfers from ${f.address} within 24 h each between USD ${formatCents(floor)} and the USD ${formatCents(t.travelRuleCents)} threshold`,
  };
}

export function exposureRule(f: Facts): RuleHit | null {
  if (!f.exposure || !f.address) return null;
  return {
    rule: 'exposure',
    decision: 'REVIEW',
    score: 70,
    reason: `exposure: ${f.address} received funds from BLOCKed address ${f.exposure.source} (tx ${f.exposure.txHash}); one hop, seen in transfers to our addresses only`,
  };
}

export function providerRule(f: Facts): RuleHit[] {
  const p = f.provider;
  if (!p) return [];
  if (!p.ok) {
    return [
      f.providerRequired
        ? {
            rule: 'provider',
            decision: 'REVIEW',
            score: 50,
            reason: `provider ${p.provider} unavailable (${p.error}): required, so at least REVIEW; local rules applied`,
          }
        : { rule: 'coverage', decision: 'ALLOW', score: 0, reason: `provider ${p.provider} unavailable (${p.error}): screened with local rules only` },
    ];
  }
  return p.identifications.map((i) => ({
    rule: 'provider' as const,
    decision: 'BLOCK' as const,
    score: 100,
    reason: `provider ${p.provider}: identified as ${i.category}${i.name ? ` (${i.name})` : ''}`,
  }));
}

export function assess(f: Facts, t: Thresholds = DEFAULT_THRESHOLDS): Assessment {
  // Written for the hot path (every deposit): no closures, and rule inputs that are empty skip
  // their rule, so a clean sender costs a few comparisons.
  const hits: RuleHit[] = [];
  if (!f.address)
    hits.push({
      rule: 'coverage',
      decision: 'ALLOW',
      score: 0,
      reason: 'sender unknown (several inputs or none reported): address rules not applied, amount rules only',
    });
  let h: RuleHit | null = sanctionsRule(f);
  if (h) hits.push(h);
  if (f.provider) for (const x of providerRule(f)) hits.push(x);
  if (f.grey.length) for (const x of greyListRule(f)) hits.push(x);
  if ((h = exposureRule(f))) hits.push(h);
  if ((h = structuringRule(f, t))) hits.push(h);
  if ((h = velocityRule(f, t))) hits.push(h);
  if (f.usdCents !== null) for (const x of amountRules(f, t)) hits.push(x);
  if (!hits.length) return { score: 0, level: 'LOW', decision: 'ALLOW', reasons: ['no rule fired'], hits };
  let decision: Decision = 'ALLOW';
  let score = 0;
  for (const x of hits) {
    if (RANK[x.decision] > RANK[decision]) decision = x.decision;
    if (x.score > score) score = x.score;
  }
  return { score, level: levelOf(score), decision, reasons: hits.map((x) => x.reason), hits };
}
