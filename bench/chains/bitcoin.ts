/**
 * Bitcoin family, measured side by side in one run (absolute numbers mean little on these
 * machines):
 * - addresses derived per second: the codec (cached account node) vs bip32 + tiny-secp256k1 +
 *   bitcoinjs payments.p2wpkh from an equally pre-parsed receive-chain node;
 * - transfers extracted per second from the recorded getblock answers (JSON.parse + extraction,
 *   as the watcher gets them from the transport) vs bare JSON.parse of the same text.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BIP32Factory } from 'bip32';
import { payments } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';
import { bitcoinjsNetwork } from '@cpg/chains/bitcoin/address';
import { bitcoinCodec, clearCodecCache } from '@cpg/chains/bitcoin/codec';
import { blockTransfers, type RawBlock } from '@cpg/chains/bitcoin/watcher';
import { getNetwork } from '@cpg/chains/networks';

interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const ROUNDS = 3;
const ROUND_MS = 300;

/** Runs `step` (which returns the units it processed) for about `ms`; units per second. */
function rate(ms: number, step: () => number): number {
  let units = 0;
  const start = process.hrtime.bigint();
  const budget = BigInt(ms) * 1_000_000n;
  let elapsed = 0n;
  while (elapsed < budget) {
    units += step();
    elapsed = process.hrtime.bigint() - start;
  }
  return (units * 1e9) / Number(elapsed);
}

/**
 * Alternates the two sides round by round and keeps each side's best round, so a burst of
 * noise on the machine hurts neither side more than the other.
 */
function sideBySide(log: (line: string) => void, label: string, ours: () => number, baseline: () => number): { ours: number; baseline: number } {
  ours();
  baseline();
  let best = { ours: 0, baseline: 0 };
  for (let round = 1; round <= ROUNDS; round++) {
    const o = rate(ROUND_MS, ours);
    const b = rate(ROUND_MS, baseline);
    best = { ours: Math.max(best.ours, o), baseline: Math.max(best.baseline, b) };
    log(`${label} round ${round}/${ROUNDS}: ours ${Math.round(o)}/s, baseline ${Math.round(b)}/s`);
  }
  return best;
}

function derivation(log: (line: string) => void): BenchResult {
  const network = getNetwork('dev-ltc');
  const net = bitcoinjsNetwork(network);
  const bip32 = BIP32Factory(ecc);
  const account = bip32.fromSeed(Buffer.alloc(32, 7), net).derivePath("m/84'/1'/0'").neutered();
  const tpub = account.toBase58();
  const chain = account.derive(0);
  clearCodecCache();
  // Fresh indexes on both sides: nothing is reused between calls except the account node.
  let nextOurs = 0;
  let nextRaw = 0;
  const BATCH = 20;
  const res = sideBySide(
    log,
    'derive',
    () => {
      for (let i = 0; i < BATCH; i++) bitcoinCodec.deriveAddress(network, tpub, nextOurs++);
      return BATCH;
    },
    () => {
      let last = '';
      for (let i = 0; i < BATCH; i++) last = payments.p2wpkh({ pubkey: chain.derive(nextRaw++).publicKey, network: net }).address!;
      return last ? BATCH : 0;
    },
  );
  // Same inputs must give the same outputs, or the comparison means nothing.
  const check = bitcoinCodec.deriveAddress(network, tpub, 12345).address;
  if (check !== payments.p2wpkh({ pubkey: chain.derive(12345).publicKey, network: net }).address) throw new Error('codec and baseline disagree');
  return {
    name: 'addresses derived/s: codec vs bip32+bitcoinjs',
    ratio: res.ours / res.baseline,
    goal: 0.8,
    detail: `${Math.round(res.ours)}/s vs ${Math.round(res.baseline)}/s`,
  };
}

function extraction(log: (line: string) => void): BenchResult {
  const dir = path.join(__dirname, '..', '..', 'shared', 'fixtures', 'bitcoin');
  const blocks = [
    ['btc_mainnet_getblock_766390_verbosity2.json', 'bitcoin'],
    ['btc_mainnet_getblock_50001_verbosity2.json', 'bitcoin'],
    ['ltc_mainnet_getblock_2383207_verbosity2.json', 'litecoin'],
    ['ltc_mainnet_getblock_2383209_verbosity2.json', 'litecoin'],
  ].map(([file, id]) => ({ text: readFileSync(path.join(dir, file!), 'utf8'), network: getNetwork(id!) }));
  const perPass = blocks.reduce((n, b) => n + blockTransfers(b.network, JSON.parse(b.text) as RawBlock).transfers.length, 0);
  const res = sideBySide(
    log,
    'extract',
    () => {
      let n = 0;
      for (const b of blocks) n += blockTransfers(b.network, JSON.parse(b.text) as RawBlock).transfers.length;
      return n;
    },
    () => {
      let n = 0;
      for (const b of blocks) if (JSON.parse(b.text)) n++;
      // Counted in transfers too, so both sides are "transfers' worth of blocks per second".
      return (n / blocks.length) * perPass;
    },
  );
  return {
    name: 'transfers extracted/s vs bare JSON.parse',
    ratio: res.ours / res.baseline,
    goal: 0.5,
    detail: `${Math.round(res.ours)}/s vs ${Math.round(res.baseline)}/s (${perPass} transfers in ${blocks.length} blocks)`,
  };
}

export async function run(log: (line: string) => void): Promise<BenchResult[]> {
  return [derivation(log), extraction(log)];
}

if (require.main === module) {
  run((line) => console.log(line)).then((rows) => {
    for (const r of rows) console.log(`${r.name}: ${r.ratio.toFixed(2)} (goal ${r.goal}) ${r.detail}`);
  });
}
