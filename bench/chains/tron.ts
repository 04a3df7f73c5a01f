/**
 * Tron codec and watcher throughput, each against a bare baseline measured in the same run
 * (rounds interleaved, so machine noise hits both sides alike):
 * - address derivation by tronCodec.deriveAddress vs raw bip32 + tiny-secp256k1 + keccak256
 *   producing the hex address (the codec additionally encodes base58check); goal >= 0.8x;
 * - transfers extracted by TronWatcher from the recorded blocks (JSON parsing included, through an
 *   in-memory transport) vs bare JSON.parse of the same response texts; goal >= 0.5x.
 * Run alone with `npx tsx bench/chains/tron.ts`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ecc from 'tiny-secp256k1';
import { BIP32Factory } from 'bip32';
import { mnemonicToSeedSync } from 'bip39';
import { keccak256 } from 'ethers';
import { getNetwork } from '@cpg/chains/networks';
import type { RpcTransport } from '@cpg/chains/types';
import { tronCodec } from '@cpg/chains/tron/codec';
import { FakeTronNode, tronFixturesDir } from '@cpg/devkit/chains/tron/fake-node';
import { TronWatcher } from '@cpg/chains/tron/watcher';

interface Result {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

/** Runs `a` and `b` alternately for `rounds` slices of about `sliceMs`; returns operations per second of each. */
async function sideBySide(a: () => Promise<number> | number, b: () => Promise<number> | number, rounds: number, sliceMs: number): Promise<[number, number]> {
  const total = [0, 0];
  const time = [0, 0];
  const fns = [a, b];
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < 2; k++) {
      const start = performance.now();
      let ops = 0;
      while (performance.now() - start < sliceMs) ops += await fns[k]!();
      time[k]! += performance.now() - start;
      total[k]! += ops;
    }
  }
  return [(total[0]! / time[0]!) * 1000, (total[1]! / time[1]!) * 1000];
}

async function derivation(log: (line: string) => void): Promise<Result> {
  const tron = getNetwork('tron', {});
  const bip32 = BIP32Factory(ecc);
  const xpub = bip32.fromSeed(mnemonicToSeedSync(MNEMONIC)).derivePath("m/44'/195'/0'").neutered().toBase58();
  const chain = bip32.fromBase58(xpub).derive(0);
  // Fresh indexes every time on both sides: nothing may be served from a cache of addresses.
  let codecIndex = 0;
  let rawIndex = 1_000_000;
  const batch = 20;
  const viaCodec = () => {
    for (let i = 0; i < batch; i++) tronCodec.deriveAddress(tron, xpub, codecIndex++);
    return batch;
  };
  const raw = () => {
    for (let i = 0; i < batch; i++) {
      const child = chain.derive(rawIndex++);
      const point = ecc.pointCompress(child.publicKey, false);
      const hex = '41' + keccak256(point.subarray(1)).slice(-40);
      if (hex.length !== 42) throw new Error('unreachable');
    }
    return batch;
  };
  viaCodec();
  raw();
  const [codecRate, rawRate] = await sideBySide(viaCodec, raw, 4, 250);
  const ratio = codecRate / rawRate;
  const detail = `codec ${codecRate.toFixed(0)} addresses/s vs raw bip32+secp256k1+keccak ${rawRate.toFixed(0)}/s`;
  log(`tron derive: ${detail} -> ${ratio.toFixed(2)}x`);
  return { name: 'tron codec: addresses derived/s vs raw bip32 + tiny-secp256k1 + keccak', ratio, goal: 0.8, detail };
}

async function extraction(log: (line: string) => void): Promise<Result> {
  // Response texts as a node sends them: the recorded Shasta block verbatim, and the blocks the
  // fake node assembles around the two recorded mainnet USDT transfers with their receipts.
  const texts = new Map<string, string>();
  const key = (path: string, num: number) => `${path}#${num}`;
  texts.set(key('/wallet/getblockbynum', 46929239), readFileSync(join(tronFixturesDir(), 'chainlink-tron-shasta/getnowblock.json'), 'utf8'));
  const node = await FakeTronNode.start({ recorded: 'mainnet' });
  try {
    for (const n of [84285095, 84286946]) {
      for (const path of ['/wallet/getblockbynum', '/wallet/gettransactioninfobyblocknum']) {
        const res = await fetch(node.url + path, { method: 'POST', body: JSON.stringify({ num: n }) });
        texts.set(key(path, n), await res.text());
      }
    }
  } finally {
    await node.close();
  }
  const transport: RpcTransport = {
    call: () => Promise.reject(new Error('not used')),
    post: async <T>(path: string, body: unknown) => {
      const text = texts.get(key(path, (body as { num: number }).num));
      if (text === undefined) throw new Error(`no recorded answer for ${path}`);
      return JSON.parse(text) as T;
    },
  };
  const shasta = new TronWatcher(getNetwork('tron-shasta', {}), transport);
  const mainnet = new TronWatcher(getNetwork('tron', {}), transport);
  const extract = async () => {
    let n = (await shasta.getBlockTransfers(46929239)).transfers.length;
    n += (await mainnet.getBlockTransfers(84285095)).transfers.length;
    n += (await mainnet.getBlockTransfers(84286946)).transfers.length;
    return n;
  };
  const perPass = await extract();
  if (perPass !== 6) throw new Error(`expected 6 transfers per pass (4 TRX + 2 USDT), got ${perPass}`);
  const allTexts = [...texts.values()];
  const parseOnly = () => {
    for (const t of allTexts) JSON.parse(t);
    return perPass;
  };
  const [extractRate, parseRate] = await sideBySide(extract, parseOnly, 10, 80);
  const ratio = extractRate / parseRate;
  const bytes = allTexts.reduce((s, t) => s + t.length, 0);
  const detail = `watcher ${extractRate.toFixed(0)} transfers/s vs JSON.parse of the same ${allTexts.length} answers (${bytes} bytes) ${parseRate.toFixed(0)} transfers/s`;
  log(`tron extract: ${detail} -> ${ratio.toFixed(2)}x`);
  return { name: 'tron watcher: transfers extracted/s vs bare JSON.parse', ratio, goal: 0.5, detail };
}

export async function run(log: (line: string) => void): Promise<{ name: string; ratio: number; goal: number; detail: string }[]> {
  return [await derivation(log), await extraction(log)];
}

if (require.main === module) {
  run(console.log).then(
    (results) => {
      for (const r of results) console.log(`${r.ratio >= r.goal ? 'ok  ' : 'SLOW'} ${r.name}: ${r.ratio.toFixed(2)}x (goal ${r.goal}x)`);
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
