// The Bitcoin family against a real litecoind in regtest: its own node on free ports and a temp
// datadir, so a developer's dev chain on 19443 is never touched. Stopped by PID in afterAll.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIP32Factory, type BIP32Interface } from 'bip32';
import { Psbt, Transaction } from 'bitcoinjs-lib';
import { ECPairFactory } from 'ecpair';
import * as ecc from 'tiny-secp256k1';
import { bitcoinjsNetwork, decodeAddress } from '../src/bitcoin/address';
import { bitcoinCodec } from '../src/bitcoin/codec';
import { LitecoinDevControls, prepareDevWallet, startLitecoind, type LitecoindHandle } from '@cpg/devkit/chains/bitcoin/dev';
import { createMultisig, finalizeMultisigPsbt } from '../src/bitcoin/psbt';
import { BitcoinSigner, signMultisigPsbt } from '../src/bitcoin/signer';
import { BitcoinWatcher } from '../src/bitcoin/watcher';
import { getNetwork } from '../src/networks';
import type { NetworkConfig, Transfer } from '../src/types';

jest.setTimeout(60_000);

const bip32 = BIP32Factory(ecc);
const ECPair = ECPairFactory(ecc);
// Litecoin Core 0.21 refuses every BIP125 replacement unless told otherwise; the RBF case needs it.
const NODE_ARGS = ['-mempoolreplacement=1'];
let node: LitecoindHandle;
let dataDir: string;
let network: NetworkConfig;
let dev: LitecoinDevControls;
let watcher: BitcoinWatcher;
let signer: BitcoinSigner;
/** A fresh BIP84 account per run: the test holds the private keys the gateway would keep in shared/keys. */
let account: BIP32Interface;
let tpub: string;
let COIN: string;

const scriptHex = (address: string) => {
  const d = decodeAddress(network.bitcoin!, address);
  if (!d.ok) throw new Error(d.reason);
  return Buffer.from(d.script).toString('hex');
};
/** vout of the output paying `address`, read from the raw transaction with bitcoinjs (not through the watcher). */
async function voutOf(txid: string, address: string): Promise<number> {
  const hex = await node.transport.call<string>('getrawtransaction', [txid, false]);
  const outs = Transaction.fromHex(hex).outs;
  const i = outs.findIndex((o) => Buffer.from(o.script).toString('hex') === scriptHex(address));
  if (i < 0) throw new Error(`${txid} does not pay ${address}`);
  return i;
}
const ours = (transfers: Transfer[], addresses: string[]) => transfers.filter((t) => addresses.includes(t.to));
const strip = ({ txHash, index, to, amount }: Transfer) => ({ txHash, index, to, amount });
const keyAt = (index: number) => account.derive(0).derive(index);

beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'cpg-ltc-'));
  node = await startLitecoind({ dataDir, extraArgs: NODE_ARGS });
  network = { ...getNetwork('dev-ltc'), rpc: [{ url: node.rpcUrl, username: 'cpg', password: 'cpg' }] };
  COIN = network.nativeCoin.id;
  dev = new LitecoinDevControls(network, node.transport, node.walletTransport);
  watcher = new BitcoinWatcher(network, node.transport);
  signer = new BitcoinSigner(network, node.transport);
  account = bip32.fromSeed(randomBytes(32), bitcoinjsNetwork(network)).derivePath("m/84'/1'/0'");
  tpub = account.neutered().toBase58();
});

afterAll(async () => {
  await node?.stop();
  if (node?.pid) expect(() => process.kill(node.pid!, 0)).toThrow();
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

describe('dev chain', () => {
  it('starts with wallet dev holding mature coins', async () => {
    expect(await node.transport.call<number>('getblockcount')).toBeGreaterThanOrEqual(101);
    expect(await node.walletTransport.call<number>('getbalance')).toBeGreaterThan(0);
    // Idempotent: preparing again mines nothing more.
    const height = await node.transport.call<number>('getblockcount');
    await prepareDevWallet(node.transport, node.walletTransport);
    expect(await node.transport.call<number>('getblockcount')).toBe(height);
  });
});

describe('round trip: derive -> fund -> watch -> spend', () => {
  it('sees exactly the funded transfers, in the mempool first, and the signer spends them', async () => {
    const a0 = bitcoinCodec.deriveAddress(network, tpub, 0).address;
    const a1 = bitcoinCodec.deriveAddress(network, tpub, 1).address;
    expect(a0).toMatch(/^rltc1q/);

    const tx1 = await dev.fund(a0, COIN, 123_456_789n);
    const tx2 = await dev.fund(a0, COIN, 50_000_000n);
    const tx3 = await dev.fund(a1, COIN, 1n * 100_000_000n + 1n);
    const expected = [
      { txHash: tx1, index: await voutOf(tx1, a0), to: a0, amount: 123_456_789n },
      { txHash: tx2, index: await voutOf(tx2, a0), to: a0, amount: 50_000_000n },
      { txHash: tx3, index: await voutOf(tx3, a1), to: a1, amount: 100_000_001n },
    ];
    const byHash = (a: { txHash: string }, b: { txHash: string }) => a.txHash.localeCompare(b.txHash);

    const pending = ours(await watcher.getMempoolTransfers(), [a0, a1]);
    expect(pending.map(strip).sort(byHash)).toEqual([...expected].sort(byHash));
    expect(
      pending.every((t) => t.blockHeight === null && t.blockHash === null && t.from === null && t.coinId === 'dev-ltc:LTC' && t.network === 'dev-ltc'),
    ).toBe(true);
    expect(await watcher.getTransactionStatus(tx1)).toEqual({ state: 'pending' });

    const height = await dev.mine(1);
    expect(await watcher.getTipHeight()).toBe(height);
    const ref = await watcher.getBlockRef(height);
    const block = await watcher.getBlockTransfers(height);
    expect(block.hash).toBe(ref!.hash);
    expect(block.parentHash).toBe((await watcher.getBlockRef(height - 1))!.hash);
    const mined = ours(block.transfers, [a0, a1]);
    expect(mined.map(strip).sort(byHash)).toEqual([...expected].sort(byHash));
    expect(mined.every((t) => t.blockHeight === height && t.blockHash === block.hash)).toBe(true);
    expect(ours(await watcher.getMempoolTransfers(), [a0, a1])).toEqual([]);
    expect(await watcher.getTransactionStatus(tx3)).toEqual({ state: 'confirmed', blockHeight: height, blockHash: block.hash });

    // Spend both coins of a0: two payments plus change back to a0, in one transaction.
    const a2 = bitcoinCodec.deriveAddress(network, tpub, 2).address;
    const outside = await node.walletTransport.call<string>('getnewaddress', ['', 'bech32']);
    const orders = [
      { to: a2, coinId: COIN, amount: 120_000_000n },
      { to: outside, coinId: COIN, amount: 30_000_000n },
    ];
    const quote = await signer.estimateFee(a0, orders);
    expect(quote.detail).toMatchObject({ sufficientFunds: 'true', inputs: '2', satPerVByte: '10' });
    const signed = await signer.sign({ privateKey: keyAt(0).privateKey!, address: a0 }, orders);
    expect(signed.fee.fee).toBe(quote.fee);
    const accepted = await node.transport.call<{ allowed: boolean }[]>('testmempoolaccept', [[signed.raw]]);
    expect(accepted[0]!.allowed).toBe(true);
    expect(await signer.broadcast(signed)).toBe(signed.txHash);
    expect(await signer.broadcast(signed)).toBe(signed.txHash); // known to the mempool: still success

    const change = 173_456_789n - 150_000_000n - signed.fee.fee;
    expect(
      ours(await watcher.getMempoolTransfers(), [a0, a2])
        .map(strip)
        .sort((x, y) => x.index - y.index),
    ).toEqual([
      { txHash: signed.txHash, index: 0, to: a2, amount: 120_000_000n },
      { txHash: signed.txHash, index: 2, to: a0, amount: change },
    ]);
    const spentAt = await dev.mine(1);
    const spentBlock = await watcher.getBlockTransfers(spentAt);
    expect(spentBlock.transfers.filter((t) => t.txHash === signed.txHash).map(strip)).toEqual([
      { txHash: signed.txHash, index: 0, to: a2, amount: 120_000_000n },
      { txHash: signed.txHash, index: 1, to: outside, amount: 30_000_000n },
      { txHash: signed.txHash, index: 2, to: a0, amount: change },
    ]);
    expect(await watcher.getTransactionStatus(signed.txHash)).toEqual({ state: 'confirmed', blockHeight: spentAt, blockHash: spentBlock.hash });
    expect(await signer.broadcast(signed)).toBe(signed.txHash); // already in the chain: still success
    // Only the change is left at a0.
    expect((await signer.spendableUtxos(a0)).map((u) => u.value)).toEqual([change]);
  });
});

/** Serialises a witness stack by hand, to show the node refusing what finalizeMultisigPsbt refuses to build. */
function witness(items: Uint8Array[]): Uint8Array {
  return Buffer.concat([Buffer.from([items.length]), ...items.flatMap((i) => [Buffer.from([i.length]), Buffer.from(i)])]);
}

describe('2-of-3 P2WSH multisig', () => {
  it('is spent with two signatures and not with one', async () => {
    const keys = [10, 11, 12].map((i) => keyAt(i));
    const wallet = createMultisig(
      network,
      2,
      keys.map((k) => k.publicKey),
    );
    const fundTx = await dev.fund(wallet.address, COIN, 100_000_000n);
    await dev.mine(1);
    const to = bitcoinCodec.deriveAddress(network, tpub, 13).address;
    const { psbt } = await signer.createMultisigPsbt(wallet, [{ to, coinId: COIN, amount: 40_000_000n }]);
    expect(Psbt.fromBase64(psbt).txInputs.map((i) => Buffer.from(i.hash).reverse().toString('hex'))).toEqual([fundTx]);

    const oneSig = signMultisigPsbt(network, psbt, keys[0]!.privateKey!);
    expect(() => finalizeMultisigPsbt(network, oneSig)).toThrow('input 0 has 1 of the 2 signatures it needs; cannot finalise');
    // Forced through by hand, one signature is refused by the node itself.
    const forced = Psbt.fromBase64(oneSig);
    const input = forced.data.inputs[0]!;
    forced.finalizeInput(0, () => ({
      finalScriptSig: undefined,
      finalScriptWitness: witness([new Uint8Array(0), input.partialSig![0]!.signature, input.witnessScript!]),
    }));
    const refused = await node.transport.call<{ allowed: boolean; 'reject-reason'?: string }[]>('testmempoolaccept', [[forced.extractTransaction().toHex()]]);
    expect(refused[0]!.allowed).toBe(false);
    expect(refused[0]!['reject-reason']).toMatch(/script-verify-flag-failed|mandatory-script-verify/);

    const twoSigs = signMultisigPsbt(network, oneSig, keys[2]!.privateKey!);
    const final = finalizeMultisigPsbt(network, twoSigs);
    const accepted = await node.transport.call<{ allowed: boolean }[]>('testmempoolaccept', [[final.raw]]);
    expect(accepted[0]!.allowed).toBe(true);
    expect(await signer.broadcast({ txHash: final.txHash, raw: final.raw, fee: { fee: 0n, detail: {} } })).toBe(final.txHash);
    const height = await dev.mine(1);
    const block = await watcher.getBlockTransfers(height);
    expect(block.transfers.filter((t) => t.txHash === final.txHash).map((t) => [t.to, t.amount])[0]).toEqual([to, 40_000_000n]);
    expect(await watcher.getTransactionStatus(final.txHash)).toMatchObject({ state: 'confirmed', blockHeight: height });
  });
});

describe('reorg', () => {
  it('returns the new block at a replaced height, with the transfer moved into it', async () => {
    const a = bitcoinCodec.deriveAddress(network, tpub, 20).address;
    const txid = await dev.fund(a, COIN, 25_000_000n);
    const height = await dev.mine(1);
    const before = await watcher.getBlockTransfers(height);
    expect(ours(before.transfers, [a]).map((t) => t.txHash)).toEqual([txid]);

    const tip = await dev.reorg(1);
    expect(tip).toBe(height + 1);
    const after = await watcher.getBlockRef(height);
    expect(after!.hash).not.toBe(before.hash);
    expect(after!.parentHash).toBe(before.parentHash);
    const replaced = await watcher.getBlockTransfers(height);
    expect(replaced.hash).toBe(after!.hash);
    // The transaction went back to the mempool and was mined into the new branch.
    const moved = ours(replaced.transfers, [a]);
    expect(moved.map((t) => [t.txHash, t.amount, t.blockHash])).toEqual([[txid, 25_000_000n, replaced.hash]]);
    expect(await watcher.getTransactionStatus(txid)).toEqual({ state: 'confirmed', blockHeight: height, blockHash: replaced.hash });
  });
});

describe('mempool', () => {
  it('reports a transaction replaced by fee (RBF) as dropped and its replacement as pending', async () => {
    const a = bitcoinCodec.deriveAddress(network, tpub, 30).address;
    const original = await dev.fund(a, COIN, 10_000_000n, { replaceable: true });
    expect(ours(await watcher.getMempoolTransfers(), [a]).map((t) => t.txHash)).toEqual([original]);

    const replacement = await dev.bumpFee(original);
    expect(replacement).not.toBe(original);
    const seen = ours(await watcher.getMempoolTransfers(), [a]);
    expect(seen.map((t) => [t.txHash, t.amount])).toEqual([[replacement, 10_000_000n]]);
    expect(await watcher.getTransactionStatus(original)).toEqual({ state: 'dropped' });
    expect(await watcher.getTransactionStatus(replacement)).toEqual({ state: 'pending' });

    const height = await dev.mine(1);
    expect(await watcher.getTransactionStatus(replacement)).toMatchObject({ state: 'confirmed', blockHeight: height });
    expect(await watcher.getTransactionStatus(original)).toEqual({ state: 'dropped' });
    expect(await watcher.getTransactionStatus(randomBytes(32).toString('hex'))).toEqual({ state: 'dropped' });
  });
});

describe('double spend', () => {
  it('reports a mempool transaction as dropped once a conflicting one is mined', async () => {
    const index = 40;
    const a = bitcoinCodec.deriveAddress(network, tpub, index).address;
    await dev.fund(a, COIN, 200_000_000n);
    await dev.mine(1);
    const key = { privateKey: keyAt(index).privateKey!, address: a };
    const victimAddress = bitcoinCodec.deriveAddress(network, tpub, 41).address;
    const first = await signer.sign(key, [{ to: victimAddress, coinId: COIN, amount: 50_000_000n }]);
    await signer.broadcast(first);
    expect(ours(await watcher.getMempoolTransfers(), [victimAddress]).map((t) => t.txHash)).toEqual([first.txHash]);
    // The same coin, spent again elsewhere, built by hand because the signer (rightly) no longer
    // offers a coin the mempool has spent.
    const scan = await node.transport.call<{ unspents: { txid: string; vout: number; scriptPubKey: string }[] }>('scantxoutset', ['start', [`addr(${a})`]]);
    expect(scan.unspents).toHaveLength(1);
    const utxo = scan.unspents[0];
    const psbt = new Psbt({ network: bitcoinjsNetwork(network) });
    psbt.addInput({ hash: utxo!.txid, index: utxo!.vout, witnessUtxo: { script: Buffer.from(utxo!.scriptPubKey, 'hex'), value: 200_000_000n } });
    psbt.addOutput({ address: bitcoinCodec.deriveAddress(network, tpub, 42).address, value: 199_990_000n });
    psbt.signAllInputs(ECPair.fromPrivateKey(key.privateKey));
    psbt.finalizeAllInputs();
    const second = psbt.extractTransaction();

    const mined = await dev.mineTransactions([second.toHex()]);
    expect(await watcher.getTransactionStatus(first.txHash)).toEqual({ state: 'dropped' });
    expect(await watcher.getTransactionStatus(second.getId())).toEqual({ state: 'confirmed', blockHeight: mined.height, blockHash: mined.hash });
    expect(ours(await watcher.getMempoolTransfers(), [victimAddress])).toEqual([]);
  });
});

describe('restart', () => {
  it('reloads wallet dev on the same datadir without mining the 101 blocks again', async () => {
    const height = await node.transport.call<number>('getblockcount');
    const pid = node.pid!;
    await node.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    node = await startLitecoind({ dataDir, extraArgs: NODE_ARGS });
    expect(await node.transport.call<number>('getblockcount')).toBe(height);
    expect(await node.transport.call<string[]>('listwallets')).toEqual(['dev']);
    expect(await node.walletTransport.call<number>('getbalance')).toBeGreaterThan(0);
  });
});
