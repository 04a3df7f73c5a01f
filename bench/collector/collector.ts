/**
 * Collector benchmarks (ratios, measured in one run):
 * - gas per swept ERC-20 deposit: what a bare token `transfer` from an address that already holds
 *   gas costs, over what the collector's shape costs for one deposit (a native gas top-up from the
 *   TOKENS_COLLECTOR wallet, then the token transfer from the USER address). Both send to a fresh
 *   recipient on a fresh anvil, gas from the receipts. Goal >= 0.5x (the top-up costs at most as
 *   much as the transfer itself).
 * - vbytes per consolidated P2WPKH input: the 68 vB floor over the marginal vsize of one more input
 *   in a real signed consolidation (signConsolidation, 1 vs 101 inputs of distinct keys) and in the
 *   planner's estimate. Goal >= 0.95x.
 *
 *   npx tsx bench/collector/collector.ts
 */
import { randomBytes } from 'node:crypto';
import { createHash } from 'node:crypto';
import { Wallet } from 'ethers';
import { ECPairFactory } from 'ecpair';
import * as ecc from 'tiny-secp256k1';
import { getNetwork } from '@cpg/chains/networks';
import { signConsolidation } from '@cpg/chains/bitcoin/consolidate';
import { p2wpkhAddressOfHash, paramsOf } from '@cpg/chains/bitcoin/address';
import { anvilAccount, deployDevUsdt, startAnvil } from '@cpg/devkit/chains/evm/dev';
import { EvmSigner, waitForReceipt } from '@cpg/chains/evm/signer';
import { createRpcPool } from '@cpg/chains/rpc';
import { consolidationVsize } from '@cpg/chains/bitcoin/fees';

export interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const ECPair = ECPairFactory(ecc);

async function gasBench(): Promise<BenchResult> {
  const anvil = await startAnvil({ port: 0 });
  try {
    await deployDevUsdt(anvil.rpcUrl);
    const network = getNetwork('dev-evm', { DEV_EVM_RPC_URL: anvil.rpcUrl });
    const rpc = createRpcPool(network.rpc);
    const signer = new EvmSigner(network, rpc);
    const faucet = anvilAccount(0);
    const funder = anvilAccount(1);
    const gasOf = async (tx: { txHash: string; raw: string; fee: { fee: bigint; detail: Record<string, string> } }) => {
      await signer.broadcast(tx);
      const r = await waitForReceipt(rpc, tx.txHash, { timeoutMs: 10_000, intervalMs: 20 });
      return BigInt(r!.gasUsed);
    };
    // Baseline: the faucet (holding gas and USDT) sends USDT to a fresh address.
    const bare = await gasOf(await signer.sign(faucet, [{ to: Wallet.createRandom().address, coinId: 'dev-evm:USDT', amount: 1_000_000n }]));
    // The collector's shape: a USER address with USDT and no gas gets a top-up, then sweeps.
    const user = Wallet.createRandom();
    const userKey = { address: user.address, privateKey: Buffer.from(user.privateKey.slice(2), 'hex') };
    await gasOf(await signer.sign(faucet, [{ to: user.address, coinId: 'dev-evm:USDT', amount: 30_000_000n }]));
    const topUp = await gasOf(await signer.sign(funder, [{ to: user.address, coinId: 'dev-evm:ETH', amount: 10n ** 15n }]));
    const sweep = await gasOf(await signer.sign(userKey, [{ to: Wallet.createRandom().address, coinId: 'dev-evm:USDT', amount: 30_000_000n }]));
    await rpc.close();
    const ratio = Number(bare) / Number(topUp + sweep);
    return {
      name: 'gas per swept ERC-20 deposit',
      ratio,
      goal: 0.5,
      detail: `bare transfer ${bare} gas; top-up ${topUp} + sweep ${sweep} = ${topUp + sweep} gas per deposit`,
    };
  } finally {
    await anvil.stop();
  }
}

function vbytesBench(): BenchResult {
  const network = getNetwork('dev-ltc', {});
  const params = paramsOf(network);
  const hash160 = (d: Uint8Array) => createHash('ripemd160').update(createHash('sha256').update(d).digest()).digest();
  const inputs = (n: number) =>
    Array.from({ length: n }, (_, i) => {
      const pair = ECPair.makeRandom();
      const script = Buffer.concat([Buffer.from([0x00, 0x14]), hash160(pair.publicKey)]);
      return {
        txid: randomBytes(32).toString('hex'),
        vout: i % 3,
        value: 1_000_000n,
        script,
        key: { privateKey: Uint8Array.from(pair.privateKey!), address: p2wpkhAddressOfHash(params, hash160(pair.publicKey)) },
      };
    });
  const to = p2wpkhAddressOfHash(params, randomBytes(20));
  const one = signConsolidation(network, inputs(1), [{ address: to, value: 990_000n }]);
  const many = signConsolidation(network, inputs(101), [{ address: to, value: 100_000_000n }]);
  const perInput = (many.vsize - one.vsize) / 100;
  const estimated = (consolidationVsize(101, [22]) - consolidationVsize(1, [22])) / 100;
  return {
    name: 'vbytes per consolidated P2WPKH input',
    ratio: 68 / perInput,
    goal: 0.95,
    detail: `${perInput.toFixed(2)} vB per input signed (1 input: ${one.vsize} vB, 101 inputs: ${many.vsize} vB); planner estimate ${estimated.toFixed(2)} vB; floor 68 vB`,
  };
}

export async function run(log: (line: string) => void): Promise<BenchResult[]> {
  const results = [await gasBench(), vbytesBench()];
  for (const r of results) log(`${r.name}: ${r.ratio.toFixed(2)}x (goal >= ${r.goal}x) — ${r.detail}`);
  return results;
}

if (require.main === module) {
  run((line) => console.log(line)).catch((err) => {
    console.error(err);
    process.exitCode = 1;
  });
}
