/**
 * Compliance screening throughput, side by side in one run (absolute numbers mean little here):
 * - the screening engine as the subgraph runs it for each address (address key, the whole OFAC
 *   list shipped in the repository, 100,000 grey-list entries, every rule evaluated, the
 *   assessment with its reasons built), vs
 * - a bare Set lookup over the same addresses (the key made with toLowerCase, as any lookup of a
 *   checksummed EVM address must), i.e. the least any list lookup can cost.
 * Goal: at least 0.2x. The database reads of the service (grey entries of one address, history,
 * exposure) are not part of either side: this measures the engine and its indexes.
 * Run alone: npx tsx bench/compliance/screening.ts
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { DEFAULT_THRESHOLDS, type Facts, assess } from '../../subgraphs/compliance/src/domain/engine';
import { addressKey } from '../../subgraphs/compliance/src/domain/address';
import { fiatCents } from '../../subgraphs/compliance/src/domain/fiat';
import { type GreyEntry, GreyListIndex } from '../../subgraphs/compliance/src/domain/greylist';
import { loadSanctions } from '../../subgraphs/compliance/src/services/sanctions-store';
import { race } from '../lib/race';

interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const SANCTIONS_DIR = path.resolve(__dirname, '..', '..', 'shared', 'fixtures', 'sanctions', 'brave-intl_2025-11-19');
const GREY = 100_000;
const QUERIES = 4096;

function randomEvm(): string {
  // Checksum-like mixed case, as addresses arrive from chains and users.
  const hex = randomBytes(20).toString('hex');
  return `0x${[...hex].map((c, i) => (i % 3 === 0 ? c.toUpperCase() : c)).join('')}`;
}

export async function run(log: (l: string) => void): Promise<BenchResult[]> {
  const sanctions = await loadSanctions(SANCTIONS_DIR);
  const merchants = Array.from({ length: 100 }, (_, i) => `00000000-0000-4000-8000-${i.toString().padStart(12, '0')}`);
  const entries: GreyEntry[] = [];
  for (let i = 0; i < GREY; i++) {
    entries.push({
      id: String(i),
      merchantId: i % 4 === 0 ? null : merchants[i % merchants.length]!,
      networkId: 'ethereum',
      address: randomEvm(),
      action: i % 2 ? 'REVIEW' : 'BLOCK',
      reason: 'bench entry',
      source: 'bench',
    });
  }
  const grey = new GreyListIndex(entries);
  const sanctioned = sanctions.keys().filter((k) => k.startsWith('0x'));
  // A realistic mix: mostly clean senders, some grey-listed, a few sanctioned.
  const queries: string[] = [];
  for (let i = 0; i < QUERIES; i++) {
    const r = i % 20;
    if (r === 0) queries.push(sanctioned[i % sanctioned.length]!);
    else if (r < 4) queries.push(entries[(i * 7919) % GREY]!.address);
    else queries.push(randomEvm());
  }
  const bare = new Set<string>([...sanctions.keys(), ...entries.map((e) => e.address.toLowerCase())]);
  log(
    `sanctions list of ${sanctions.meta.date}: ${sanctions.size} addresses; grey list: ${grey.size} entries; ${queries.length} queries (5 % sanctioned, 15 % grey, 80 % clean)`,
  );

  const amounts = queries.map((_, i) => BigInt(i + 1) * 10n ** 15n);
  const now = new Date();
  let decisions = 0;
  const screenAll = () => {
    for (let i = 0; i < queries.length; i++) {
      const address = queries[i]!;
      const key = addressKey(address);
      const facts: Facts = {
        address,
        networkId: 'ethereum',
        direction: 'IN',
        sanction: sanctions.lookupKey('EVM', 'ETH', key),
        grey: grey.matchingKey('ethereum', key, merchants[i % merchants.length]!),
        usdCents: fiatCents(amounts[i]!, 18, '3000'),
        prior: [],
        exposure: null,
        provider: null,
        providerRequired: false,
        now,
      };
      if (assess(facts, DEFAULT_THRESHOLDS).decision !== 'ALLOW') decisions++;
    }
    return queries.length;
  };
  let hits = 0;
  const setAll = () => {
    for (let i = 0; i < queries.length; i++) if (bare.has(queries[i]!.toLowerCase())) hits++;
    return queries.length;
  };
  const [engine, set] = race(screenAll, setAll, 3000);
  const ratio = engine / set;
  log(
    `engine ${Math.round(engine).toLocaleString('en')} screenings/s, bare Set ${Math.round(set).toLocaleString('en')} lookups/s (non-ALLOW ${decisions}, set hits ${hits})`,
  );
  return [
    {
      name: 'screenings/s vs bare Set lookup',
      ratio,
      goal: 0.2,
      detail: `${Math.round(engine).toLocaleString('en')}/s vs ${Math.round(set).toLocaleString('en')}/s`,
    },
  ];
}

if (require.main === module) {
  run((l) => console.log(l))
    .then((rows) => {
      for (const r of rows) console.log(`${r.name}: ${r.ratio.toFixed(2)}x (goal ${r.goal}x) ${r.ratio >= r.goal ? 'ok' : 'MISSED'} - ${r.detail}`);
    })
    .catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
}
