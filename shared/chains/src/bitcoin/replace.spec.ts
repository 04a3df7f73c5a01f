import { createHash } from 'node:crypto';
import { Psbt, Transaction } from 'bitcoinjs-lib';
import { ECPairFactory } from 'ecpair';
import * as ecc from 'tiny-secp256k1';
import { getNetwork } from '../networks';
import type { RpcTransport } from '../types';
import { bitcoinjsNetwork, decodeAddress, p2wpkhAddressOfHash } from './address';
import { type Prevout, changeOutputIndex, planBitcoinReplacement, readPrevouts, signBitcoinReplacement } from './replace';

const ECPair = ECPairFactory(ecc);
const devLtc = getNetwork('dev-ltc');
const params = devLtc.bitcoin!;

// Fixed test keys: 0x11.. (the HOT wallet) and 0x22.. (a payee); valid secp256k1 scalars.
const priv = (b: number) => Buffer.alloc(32, b);
const hash160 = (d: Uint8Array) => createHash('ripemd160').update(createHash('sha256').update(d).digest()).digest();
const addressOf = (b: number) => p2wpkhAddressOfHash(params, hash160(ECPair.fromPrivateKey(priv(b)).publicKey));
const scriptOf = (address: string) => {
  const d = decodeAddress(params, address);
  if (!d.ok) throw new Error(d.reason);
  return d.script;
};
const fakeTxid = (n: number) => createHash('sha256').update(`tx${n}`).digest('hex');

const own = addressOf(0x11);
const key = { privateKey: priv(0x11), address: own };
const payee = scriptOf(addressOf(0x22));

/** A signed payout spending `prevouts` (fake outpoints of the HOT wallet), paying 0.1 LTC, change last. */
function stuckPayout(prevouts: bigint[], fee: bigint, withChange = true) {
  const net = bitcoinjsNetwork(devLtc);
  const psbt = new Psbt({ network: net });
  prevouts.forEach((value, i) => psbt.addInput({ hash: fakeTxid(i), index: i, sequence: 0xfffffffd, witnessUtxo: { script: scriptOf(own), value } }));
  const paid = 10_000_000n;
  const total = prevouts.reduce((s, v) => s + v, 0n);
  psbt.addOutput({ script: payee, value: withChange ? paid : total - fee });
  if (withChange) psbt.addOutput({ script: scriptOf(own), value: total - paid - fee });
  psbt.signAllInputs(ECPair.fromPrivateKey(priv(0x11), { network: net }));
  psbt.finalizeAllInputs();
  const tx = psbt.extractTransaction();
  return { txHash: tx.getId(), raw: tx.toHex(), fee };
}

const prevoutsOf = (values: bigint[]): Prevout[] => values.map((value) => ({ script: scriptOf(own), value }));

describe('Bitcoin-family replacement (BIP125 fee bump)', () => {
  it('spends the same inputs, pays the payee the same, and takes the higher fee from the change', () => {
    const values = [60_000_000n, 70_000_000n];
    const old = stuckPayout(values, 5_000n);
    const oldTx = Transaction.fromHex(old.raw);
    const plan = planBitcoinReplacement(devLtc, own, old, 25, 1_000n)!;
    expect(plan).not.toBeNull();
    expect(plan.changeIndex).toBe(1);
    expect(plan.inputs).toEqual([
      { txid: fakeTxid(0), index: 0 },
      { txid: fakeTxid(1), index: 1 },
    ]);
    const oldRate = (old.fee * 1000n) / BigInt(oldTx.virtualSize());
    expect(plan.satPerKvB).toBe((oldRate * 125n) / 100n + 1000n);
    // BIP125 rule 4: at least the old fee plus 1 sat/vB of its own size.
    expect(plan.fee).toBeGreaterThanOrEqual(old.fee + BigInt(oldTx.virtualSize()));

    const r = signBitcoinReplacement(devLtc, key, old, plan, prevoutsOf(values));
    const next = Transaction.fromHex(r.raw);
    expect(r.txHash).toBe(next.getId());
    expect(r.txHash).not.toBe(old.txHash);
    expect(next.ins.map((i) => [Buffer.from(i.hash).reverse().toString('hex'), i.index, i.sequence])).toEqual([
      [fakeTxid(0), 0, 0xfffffffd],
      [fakeTxid(1), 1, 0xfffffffd],
    ]);
    expect(Buffer.from(next.outs[0]!.script).equals(Buffer.from(payee))).toBe(true);
    expect(BigInt(next.outs[0]!.value)).toBe(10_000_000n);
    expect(BigInt(next.outs[1]!.value)).toBe(BigInt(oldTx.outs[1]!.value) - (plan.fee - old.fee));
    const outs = next.outs.reduce((s, o) => s + BigInt(o.value), 0n);
    expect(values[0]! + values[1]! - outs).toBe(r.fee);
    expect(r.fee).toBe(plan.fee);
    expect(r.nonce).toBeNull();
    expect(r.feeDetail).toEqual({
      satPerKvB: plan.satPerKvB.toString(),
      vsize: String(next.virtualSize()),
      change: plan.change.toString(),
      replaces: old.txHash,
    });
  });

  it("pays at least the node's current rate", () => {
    const old = stuckPayout([60_000_000n], 2_000n);
    const plan = planBitcoinReplacement(devLtc, own, old, 25, 500_000n)!;
    expect(plan.satPerKvB).toBe(500_000n);
  });

  it('cannot bump without a change output, or when the change would fall below dust', () => {
    const noChange = stuckPayout([60_000_000n], 2_000n, false);
    expect(changeOutputIndex(devLtc, own, noChange.raw)).toBe(-1);
    expect(planBitcoinReplacement(devLtc, own, noChange, 25, 1_000n)).toBeNull();
    // 10_000_000 paid, 3_000 change: the raised fee leaves less than Litecoin's 2940-sat dust.
    const tiny = stuckPayout([10_004_500n], 1_500n);
    expect(changeOutputIndex(devLtc, own, tiny.raw)).toBe(1);
    expect(planBitcoinReplacement(devLtc, own, tiny, 25, 1_000n)).toBeNull();
  });

  it('refuses an address of another network', () => {
    const old = stuckPayout([60_000_000n], 2_000n);
    expect(() => planBitcoinReplacement(devLtc, '0x000000000000000000000000000000000000dEaD', old, 25, 1_000n)).toThrow(/is not an address of dev-ltc/);
  });

  it('reads the spent outputs from the node in input order', async () => {
    const calls: unknown[][] = [];
    const transport = {
      call: async (method: string, p: unknown[]) => {
        calls.push([method, ...p]);
        return {
          vout: [
            { n: 0, value: '0.5', scriptPubKey: { hex: 'aa' } },
            { n: 1, value: 0.25, scriptPubKey: { hex: 'bb' } },
          ],
        };
      },
      post: async () => ({}),
    } as unknown as RpcTransport;
    const got = await readPrevouts(transport, [
      { txid: fakeTxid(0), index: 1 },
      { txid: fakeTxid(1), index: 0 },
    ]);
    expect(got.map((p) => [Buffer.from(p.script).toString('hex'), p.value])).toEqual([
      ['bb', 25_000_000n],
      ['aa', 50_000_000n],
    ]);
    expect(calls).toEqual([
      ['getrawtransaction', fakeTxid(0), true],
      ['getrawtransaction', fakeTxid(1), true],
    ]);
    await expect(readPrevouts(transport, [{ txid: fakeTxid(2), index: 5 }])).rejects.toThrow(`input ${fakeTxid(2)}:5 not found`);
  });
});
