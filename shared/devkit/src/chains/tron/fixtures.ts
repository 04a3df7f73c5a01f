import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { sha256Hex, type TronTransactionJson, type TronTxInfoJson, type TronBlockJson } from '@cpg/chains/tron/protocol';
import type { ChainState } from './chain-state';
import { ZERO32 } from './wire';

/** Finds shared/fixtures/tron: TRON_FIXTURES_DIR, else the nearest `shared/fixtures/tron` above this file. */
export function tronFixturesDir(): string {
  if (process.env.TRON_FIXTURES_DIR) return process.env.TRON_FIXTURES_DIR;
  let dir = __dirname;
  for (;;) {
    const candidate = join(dir, 'shared', 'fixtures', 'tron');
    if (existsSync(join(candidate, 'SOURCES.md'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('shared/fixtures/tron not found above ' + __dirname + '; set TRON_FIXTURES_DIR');
    dir = parent;
  }
}

export function readTronFixture<T = unknown>(relativePath: string): T {
  return JSON.parse(readFileSync(join(tronFixturesDir(), relativePath), 'utf8')) as T;
}

/** The two recorded mainnet USDT transfers: `transaction` is a gettransactionbyid answer, `info` a gettransactioninfobyid answer. */
export const MAINNET_USDT_CAPTURES = [
  'metamask-mainnet-captures/985e1025996d272399ee5dab76dcbb1ff19ea14112b747c3c2fc0510b6018d2e.json',
  'metamask-mainnet-captures/09ced8884304c13fed8642595593f6c3724173d6848e64a3f27849b055249429.json',
];

const RECORDED_WITNESS = '41d0668c49826f2ca13e3848b5eb3414fb059b7cc0';

/** Puts the recorded chain `kind` (see FakeTronNodeOptions.recorded) into an empty chain state and sets its head. */
export function loadRecorded(chain: ChainState, kind: 'shasta' | 'mainnet' | 'empty'): void {
  if (kind === 'shasta') {
    const early = readTronFixture<TronBlockJson>('chainlink-tron-shasta/getblockbynum.json');
    const now = readTronFixture<TronBlockJson>('chainlink-tron-shasta/getnowblock.json');
    chain.put(early, []);
    chain.put(now, []);
    chain.headNumber = now.block_header!.raw_data.number!;
    return;
  }
  if (kind === 'mainnet') {
    const captures = MAINNET_USDT_CAPTURES.map((p) => readTronFixture<{ transaction: TronTransactionJson; info: TronTxInfoJson }>(p));
    captures.sort((a, b) => a.info.blockNumber! - b.info.blockNumber!);
    for (const c of captures) {
      const n = c.info.blockNumber!;
      // The real parent of these blocks was not recorded; a stable stand-in keeps ids deterministic.
      const parentHash = (n - 1).toString(16).padStart(16, '0') + sha256Hex(Buffer.from(`parent-of-${n}`).toString('hex')).slice(16);
      const block = chain.assemble(n, parentHash, c.info.blockTimeStamp!, [c.transaction], RECORDED_WITNESS);
      chain.put(block, [c.info]);
      chain.headNumber = n;
    }
    return;
  }
  const genesis = chain.assemble(1, ZERO32, 1_700_000_000_000, [], RECORDED_WITNESS);
  chain.put(genesis, []);
  chain.headNumber = 1;
}
