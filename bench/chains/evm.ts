/**
 * EVM chain benchmarks, each against a baseline measured in the same run (these machines are
 * noisy, so only ratios mean anything):
 * - address derivation: the codec (checksummed address + public key per index, from a cached
 *   account node) vs the bare work (bip32 derive, tiny-secp256k1 decompress, ethers keccak,
 *   lower-case hex). Goal >= 0.8x.
 * - transfer extraction: JSON.parse + extractBlockTransfers of a recorded mainnet block and its
 *   receipts vs JSON.parse of the same text. Goal >= 0.5x, i.e. extraction costs at most as much
 *   as parsing. Measured cold: the checksum cache is cleared before every iteration, so each
 *   address is hashed as if never seen (the warm figure is in the detail).
 *
 *   npx tsx bench/chains/evm.ts
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { BIP32Factory } from 'bip32';
import { HDNodeWallet, keccak256, Mnemonic } from 'ethers';
import * as ecc from 'tiny-secp256k1';
import { clearChecksumCache } from '@cpg/chains/evm/address';
import { EvmCodec } from '@cpg/chains/evm/codec';
import { extractBlockTransfers, tokenRegistry } from '@cpg/chains/evm/extract';
import type { RawBlock, RawReceipt } from '@cpg/chains/evm/raw';
import { getNetwork } from '@cpg/chains/networks';
import { race } from '../lib/race';

export interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const FIXTURES = path.join(__dirname, '../../shared/fixtures/evm');

function deriveBench(budgetMs: number): BenchResult {
  const network = getNetwork('ethereum', {});
  const account = HDNodeWallet.fromMnemonic(
    Mnemonic.fromPhrase('abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'),
    "m/44'/60'/0'",
  );
  const xpub = account.neuter().extendedKey;
  const codec = new EvmCodec();
  const receive = BIP32Factory(ecc).fromBase58(xpub).derive(0);
  const batch = 200;
  let next = 0;
  let check = '';
  const viaCodec = () => {
    for (let i = 0; i < batch; i++) check = codec.deriveAddress(network, xpub, next++ % 100_000).address;
    return batch;
  };
  let nextRaw = 0;
  const raw = () => {
    for (let i = 0; i < batch; i++) {
      const child = receive.derive(nextRaw++ % 100_000);
      check = keccak256(ecc.pointCompress(child.publicKey, false).subarray(1)).slice(26);
    }
    return batch;
  };
  if (
    codec.deriveAddress(network, xpub, 5).address.toLowerCase().slice(2) !==
    (raw(), keccak256(ecc.pointCompress(receive.derive(5).publicKey, false).subarray(1)).slice(26))
  ) {
    throw new Error('codec and baseline disagree');
  }
  const [codecRate, rawRate] = race(viaCodec, raw, budgetMs);
  void check;
  return {
    name: 'addresses derived/s: codec vs raw bip32',
    ratio: codecRate / rawRate,
    goal: 0.8,
    detail: `codec ${codecRate.toFixed(0)}/s (checksummed), raw ${rawRate.toFixed(0)}/s (lower-case hex)`,
  };
}

/**
 * The recorded block with its two recorded receipts. The other 123 transactions get receipts
 * with the recorded ones' fields (all-zero bloom, no logs, success), so the whole block is
 * extracted and the JSON is shaped as a node's would be; real receipts with logs would only make
 * the parse side heavier.
 */
function blockJson(): string {
  const block = JSON.parse(readFileSync(path.join(FIXTURES, 'eth_mainnet_eth_getBlockByNumber_17053184_full_tx.json'), 'utf8')) as RawBlock;
  const receipts = [
    '0xa7dd69b26195de7ab54139820a2658aec834dd475882395fdbe9f7c3076aec62_USDT',
    '0x8dc34977c542c05417961e4c47e6318bbe24c76f09b7e99ce8f639e5162d4808_USDC',
  ].map((name) => JSON.parse(readFileSync(path.join(FIXTURES, `eth_mainnet_eth_getTransactionReceipt_${name}_transfer.json`), 'utf8')) as RawReceipt);
  const have = new Set(receipts.map((r) => r.transactionHash));
  const hex = (n: number) => `0x${n.toString(16)}`;
  block.transactions.forEach((tx, i) => {
    if (have.has(tx.hash)) return;
    receipts.push({
      blockHash: block.hash,
      blockNumber: block.number,
      contractAddress: null,
      cumulativeGasUsed: hex(21_000 * (i + 1)),
      effectiveGasPrice: '0x8d62d454d',
      from: tx.from,
      gasUsed: '0x5208',
      logs: [],
      logsBloom: `0x${'0'.repeat(512)}`,
      status: '0x1',
      to: tx.to,
      transactionHash: tx.hash,
      transactionIndex: hex(i),
      type: tx.type ?? '0x0',
    } as RawReceipt);
  });
  return JSON.stringify({ block, receipts });
}

function extractBench(budgetMs: number): BenchResult[] {
  const network = getNetwork('ethereum', {});
  const registry = tokenRegistry(network);
  const text = blockJson();
  let transfers = 0;
  const extract = (cold: boolean) => () => {
    if (cold) clearChecksumCache();
    const { block, receipts } = JSON.parse(text) as { block: RawBlock; receipts: RawReceipt[] };
    transfers = extractBlockTransfers(network, { block, receipts }, registry).transfers.length;
    return 1;
  };
  let sink: unknown;
  const parse = () => {
    sink = JSON.parse(text);
    return 1;
  };
  const [coldRate, parseRate] = race(extract(true), parse, budgetMs);
  const [warmRate, parseRate2] = race(extract(false), parse, budgetMs / 2);
  void sink;
  return [
    {
      name: 'transfers/s: extract vs bare JSON.parse',
      ratio: coldRate / parseRate,
      goal: 0.5,
      detail:
        `${(coldRate * transfers).toFixed(0)} transfers/s (${transfers} per block, ${(text.length / 1024).toFixed(0)} KiB JSON): parse+extract ${coldRate.toFixed(0)} blocks/s cold, ` +
        `${warmRate.toFixed(0)} warm (${(warmRate / parseRate2).toFixed(2)}x); JSON.parse alone ${parseRate.toFixed(0)}/s`,
    },
  ];
}

export async function run(log: (line: string) => void): Promise<BenchResult[]> {
  const results = [deriveBench(1_500), ...extractBench(1_500)];
  for (const r of results) log(`${r.name}: ${r.ratio.toFixed(2)}x (goal >= ${r.goal}x) — ${r.detail}`);
  return results;
}

if (require.main === module) {
  run((line) => console.log(line)).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
