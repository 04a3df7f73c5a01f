/**
 * What a 1 MB argument costs the API (issue 15: "a 1 MB address is refused in < 50 ms while other
 * requests keep flowing"), side by side in one run on the whole stack:
 * - baseline: validateAddress with an ordinary address, one request at a time (p50, p99);
 * - refused: screenAddress(networkId: "tron") with a 1,000,000-character address (it used to run a
 *   quadratic base58 decode on the compliance subgraph's event loop), one at a time;
 * - under load: ordinary requests while four clients keep sending 1 MB addresses.
 * Ratio: baseline p50 / refused p50 (1.0: refusing 1 MB costs what a normal request does). Goal
 * 0.1. The figures in ms are printed too.
 *
 *   npx tsx bench/limits/big-input.ts
 */
import { performance } from 'node:perf_hooks';
import { gql } from '@cpg/devkit/testing';
import { startStack } from '../../integration-tests/support/stack';

interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const NORMAL = 'query($a: String!) { validateAddress(networkId: "dev-evm", address: $a) { valid } }';
const BIG = 'query($a: String!) { screenAddress(networkId: "tron", address: $a) { decision } }';
const EVM = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

export async function run(log: (l: string) => void): Promise<BenchResult[]> {
  const stack = await startStack({ RATE_LIMIT_REQUESTS: 1_000_000, RATE_LIMIT_COST: 100_000_000 });
  try {
    const m = await stack.newMerchant('bench');
    const big = 'T'.repeat(1_000_000);
    const time = async (query: string, a: string): Promise<{ ms: number; code?: string }> => {
      const t0 = performance.now();
      const res = await gql(stack.url, query, { a }, m.secret);
      return { ms: performance.now() - t0, code: res.errors?.[0]?.extensions?.code };
    };
    for (let i = 0; i < 20; i++) await time(NORMAL, EVM); // warm up
    const normal: number[] = [];
    for (let i = 0; i < 200; i++) normal.push((await time(NORMAL, EVM)).ms);
    const refused: number[] = [];
    for (let i = 0; i < 50; i++) {
      const r = await time(BIG, big);
      if (r.code !== 'BAD_USER_INPUT') throw new Error(`a 1 MB address answered ${r.code ?? 'OK'}`);
      refused.push(r.ms);
    }
    let loading = true;
    const load = Array.from({ length: 4 }, async () => {
      while (loading) await time(BIG, big);
    });
    const underLoad: number[] = [];
    for (let i = 0; i < 100; i++) underLoad.push((await time(NORMAL, EVM)).ms);
    loading = false;
    await Promise.all(load);
    const detail = `normal p50 ${pct(normal, 0.5).toFixed(1)} ms p99 ${pct(normal, 0.99).toFixed(1)}; 1 MB refused p50 ${pct(refused, 0.5).toFixed(1)} ms p99 ${pct(refused, 0.99).toFixed(1)}; normal under 4 senders of 1 MB p50 ${pct(underLoad, 0.5).toFixed(1)} ms p99 ${pct(underLoad, 0.99).toFixed(1)}`;
    log(detail);
    return [{ name: '1 MB address refused vs a normal request', ratio: pct(normal, 0.5) / pct(refused, 0.5), goal: 0.1, detail }];
  } finally {
    await stack.stop();
  }
}

if (require.main === module) {
  run((l) => console.log(l)).then(
    (rows) => console.log(rows),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
