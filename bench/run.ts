/**
 * Runs every benchmark module and prints ratios against a baseline measured in the same run
 * (these machines are noisy: absolute numbers mean little, side-by-side ratios do).
 * Usage: npm run bench [-- name-filter]
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';

interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

async function main(): Promise<void> {
  const filter = process.argv[2];
  const dirs = ['chains', 'tracker', 'payments', 'compliance', 'withdrawals', 'collector', 'limits'];
  const rows: (BenchResult & { suite: string })[] = [];
  for (const dir of dirs) {
    const full = path.join(__dirname, dir);
    for (const file of readdirSync(full).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))) {
      const suite = `${dir}/${file.replace(/\.ts$/, '')}`;
      if (filter && !suite.includes(filter)) continue;
      console.log(`bench: ${suite} ...`);
      const mod = (await import(path.join(full, file))) as { run(log: (l: string) => void): Promise<BenchResult[]> };
      for (const r of await mod.run((line) => console.log(`  ${suite}: ${line}`))) rows.push({ suite, ...r });
    }
  }
  console.log('\nsuite                 benchmark                                   ratio   goal   ok');
  for (const r of rows) {
    console.log(
      `${r.suite.padEnd(22)}${r.name.padEnd(44)}${r.ratio.toFixed(2).padStart(6)}  ${r.goal.toFixed(2).padStart(5)}   ${r.ratio >= r.goal ? 'yes' : 'NO'}   ${r.detail}`,
    );
  }
  const missed = rows.filter((r) => r.ratio < r.goal);
  console.log(`\n${rows.length - missed.length} of ${rows.length} benchmarks meet their goal`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
