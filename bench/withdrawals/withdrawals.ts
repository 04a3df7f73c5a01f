/**
 * Withdrawal batching benchmarks, on real dev chains started for the run, each against a baseline
 * measured in the same run (the same signer code the signer worker uses):
 * - LTC batch of 50 payouts: vbytes per payout of the one transaction BitcoinSigner builds (50
 *   P2WPKH outputs + change) vs the P2WPKH floor: 31 vB per payout output plus the shared part
 *   (version, locktime, counts, segwit marker, one input, the change output) spread over the 50.
 *   Reported as floor / actual (1.00 = at the floor); goal >= 0.95. 50 one-payout transactions
 *   signed by the same signer are shown beside it.
 * - ERC-20 batch of 50 payouts: gas per payout of one BatchTransfer.batchTransferFrom vs 50
 *   single `transfer` calls in the same run, every recipient a fresh holder in both. Goal: batch
 *   at most 0.55x the single cost, reported as single / batch (higher is better), goal >= 1/0.55.
 *
 *   npx tsx bench/withdrawals/withdrawals.ts
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transaction as BtcTransaction } from 'bitcoinjs-lib';
import { Wallet } from 'ethers';
import * as ecc from 'tiny-secp256k1';
import { LitecoinDevControls, startLitecoind } from '@cpg/devkit/chains/bitcoin/dev';
import { BitcoinSigner } from '@cpg/chains/bitcoin/signer';
import { EvmDevControls, deployDevUsdt, startAnvil } from '@cpg/devkit/chains/evm/dev';
import type { RawReceipt } from '@cpg/chains/evm/raw';
import { EvmSigner, waitForReceipt } from '@cpg/chains/evm/signer';
import { getNetwork } from '@cpg/chains/networks';
import { createRpcPool } from '@cpg/chains/rpc';
import type { SigningKey, TransferOrder } from '@cpg/chains/types';
import { addressOfPublicKey } from '@cpg/chains/keys/key-store';

export interface BenchResult {
  name: string;
  ratio: number;
  goal: number;
  detail: string;
}

const PAYOUTS = 50;

function randomKey(address: (pub: Uint8Array) => string): SigningKey {
  const privateKey = randomBytes(32);
  return { privateKey, address: address(ecc.pointFromScalar(privateKey, true)!) };
}

async function ltcBatch(log: (line: string) => void): Promise<BenchResult> {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cpg-bench-withdrawals-ltc-'));
  const node = await startLitecoind({ dataDir });
  try {
    const network = { ...getNetwork('dev-ltc', {}), rpc: [{ url: node.rpcUrl, username: 'cpg', password: 'cpg' }] };
    const dev = new LitecoinDevControls(network, node.transport, node.walletTransport);
    const key = randomKey((pub) => addressOfPublicKey(network, pub));
    await dev.fund(key.address, network.nativeCoin.id, 10n * 100_000_000n);
    await dev.mine(1);
    const payees: string[] = [];
    for (let i = 0; i < PAYOUTS; i++) payees.push(await node.walletTransport.call<string>('getnewaddress', ['', 'bech32']));
    const signer = new BitcoinSigner(network, node.transport);
    const orders: TransferOrder[] = payees.map((to, i) => ({ to, coinId: network.nativeCoin.id, amount: 1_000_000n + BigInt(i) }));
    const batch = await signer.sign(key, orders);
    const tx = BtcTransaction.fromHex(batch.raw);
    if (tx.outs.length !== PAYOUTS + 1 || tx.ins.length !== 1)
      throw new Error(`expected 1 input and ${PAYOUTS + 1} outputs, got ${tx.ins.length} and ${tx.outs.length}`);
    // The batch must be a valid transaction, not just a size: the node takes it.
    await signer.broadcast(batch);
    await dev.mine(1);
    const vsize = tx.virtualSize();
    // P2WPKH floor: 10.5 vB shared header (version 4, locktime 4, in/out counts, marker+flag 0.5),
    // 68 vB per input (41 non-witness + 107 witness / 4 with a 72-byte signature), 31 vB per output.
    const shared = 10.5 + 68 + 31; // header, one input, the change output
    const floorPerPayout = 31 + shared / PAYOUTS;
    const actualPerPayout = vsize / PAYOUTS;
    let singles = 0;
    for (const o of orders) singles += BtcTransaction.fromHex((await signer.sign(key, [o])).raw).virtualSize();
    const detail =
      `batch of ${PAYOUTS}: ${vsize} vB = ${actualPerPayout.toFixed(2)} vB/payout; P2WPKH floor ${floorPerPayout.toFixed(2)} vB/payout; ` +
      `${PAYOUTS} single-payout txs: ${(singles / PAYOUTS).toFixed(2)} vB/payout (batch = ${(vsize / singles).toFixed(3)}x)`;
    log(detail);
    return { name: `LTC batch of ${PAYOUTS}: floor / actual vB per payout`, ratio: floorPerPayout / actualPerPayout, goal: 0.95, detail };
  } finally {
    await node.stop();
    await fs.rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function erc20Batch(log: (line: string) => void): Promise<BenchResult> {
  const anvil = await startAnvil({ port: 0 });
  const transport = createRpcPool([{ url: anvil.rpcUrl }]);
  try {
    await deployDevUsdt(anvil.rpcUrl);
    const network = getNetwork('dev-evm', { DEV_EVM_RPC_URL: anvil.rpcUrl });
    const usdt = network.coins.find((c) => c.symbol === 'USDT')!;
    const dev = new EvmDevControls(network, transport);
    const key = randomKey((pub) => addressOfPublicKey(network, pub));
    await dev.fund(key.address, network.nativeCoin.id, 10n ** 19n);
    await dev.fund(key.address, usdt.id, 10_000n * 10n ** 6n);

    const deployer = new EvmSigner(network, transport);
    const { tx: deploy, address: batchContract } = await deployer.signBatchTransferDeployment(key);
    await deployer.broadcast(deploy);
    await waitForReceipt(transport, deploy.txHash);
    const signer = new EvmSigner(network, transport, { batchContract });
    const approval = await signer.signApproval(key, usdt.id);
    await signer.broadcast(approval);
    await waitForReceipt(transport, approval.txHash);

    const gasOf = async (txHash: string): Promise<bigint> => {
      const r = (await waitForReceipt(transport, txHash)) as RawReceipt;
      if (r.status !== '0x1') throw new Error(`${txHash} reverted`);
      return BigInt(r.gasUsed);
    };
    const orders = (): TransferOrder[] =>
      Array.from({ length: PAYOUTS }, (_, i) => ({ to: Wallet.createRandom().address, coinId: usdt.id, amount: 1_000_000n + BigInt(i) }));

    let single = 0n;
    for (const o of orders()) {
      const tx = await signer.sign(key, [o]);
      await signer.broadcast(tx);
      single += await gasOf(tx.txHash);
    }
    const batchTx = await signer.sign(key, orders());
    await signer.broadcast(batchTx);
    const batch = await gasOf(batchTx.txHash);
    const singlePer = Number(single) / PAYOUTS;
    const batchPer = Number(batch) / PAYOUTS;
    const detail =
      `${PAYOUTS} single transfer txs: ${single} gas = ${singlePer.toFixed(0)} gas/payout; one BatchTransfer tx: ${batch} gas = ${batchPer.toFixed(0)} gas/payout ` +
      `(batch = ${(batchPer / singlePer).toFixed(3)}x single; goal <= 0.55x; the one-time approve, not counted, is ${await gasOf(approval.txHash)} gas)`;
    log(detail);
    return { name: `ERC-20 batch of ${PAYOUTS}: single / batch gas per payout`, ratio: singlePer / batchPer, goal: 1 / 0.55, detail };
  } finally {
    await transport.close();
    await anvil.stop();
  }
}

export async function run(log: (line: string) => void): Promise<BenchResult[]> {
  return [await ltcBatch(log), await erc20Batch(log)];
}

if (require.main === module) {
  run((line) => console.log(line)).then(
    (rows) => {
      for (const r of rows) console.log(`${r.name}: ${r.ratio.toFixed(2)} (goal ${r.goal.toFixed(2)}) ${r.detail}`);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
