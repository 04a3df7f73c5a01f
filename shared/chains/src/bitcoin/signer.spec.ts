import { createHash } from 'node:crypto';
import { Psbt, Transaction } from 'bitcoinjs-lib';
import { ECPairFactory } from 'ecpair';
import * as ecc from 'tiny-secp256k1';
import { getNetwork } from '../networks';
import type { RpcTransport } from '../types';
import { decodeAddress, p2wpkhAddressOfHash } from './address';
import { BitcoinSignerError } from './errors';
import { dustThreshold } from './fees';
import { buildMultisigPsbt, combineMultisigPsbts, createMultisig, finalizeMultisigPsbt, multisigSignatureCounts } from './psbt';
import { BitcoinSigner, signMultisigPsbt } from './signer';
import { type Utxo, selectCoins } from './tx-build';

const ECPair = ECPairFactory(ecc);
const devLtc = getNetwork('dev-ltc');
const params = devLtc.bitcoin!;
const COIN = devLtc.nativeCoin.id;

// Fixed test keys: 0x11.., 0x22.., 0x33.., 0x44.. (valid secp256k1 scalars).
const priv = (b: number) => Buffer.alloc(32, b);
const pub = (b: number) => ECPair.fromPrivateKey(priv(b)).publicKey;
const hash160 = (d: Uint8Array) => createHash('ripemd160').update(createHash('sha256').update(d).digest()).digest();
const addressOf = (b: number) => p2wpkhAddressOfHash(params, hash160(pub(b)));
const scriptOf = (address: string) => {
  const d = decodeAddress(params, address);
  if (!d.ok) throw new Error(d.reason);
  return d.script;
};
const fakeTxid = (n: number) => createHash('sha256').update(`tx${n}`).digest('hex');

describe('dustThreshold (Bitcoin Core GetDustThreshold)', () => {
  it.each<[string, number, bigint, bigint]>([
    ['P2WPKH', 22, 294n, 2940n],
    ['P2WSH', 34, 330n, 3300n],
    ['P2PKH', 25, 546n, 5460n],
    ['P2SH', 23, 540n, 5400n],
  ])('%s at 3 and 30 sat/vB', (_, len, btc, ltc) => {
    const script = new Uint8Array(len);
    if (len === 22) script.set([0x00, 20]);
    if (len === 34) script.set([0x00, 32]);
    if (len === 25) script.set([0x76, 0xa9, 20]);
    if (len === 23) script.set([0xa9, 20]);
    expect(dustThreshold(script, 3000n)).toBe(btc);
    expect(dustThreshold(script, 30000n)).toBe(ltc);
  });
});

describe('selectCoins', () => {
  const change = scriptOf(addressOf(1));
  const out = { script: scriptOf(addressOf(2)), value: 100_000n };
  const utxo = (n: number, value: bigint): Utxo => ({ txid: fakeTxid(n), vout: 0, value, script: change });
  const base = { changeScript: change, satPerKvB: 10_000n, inputWeight: 272, dustRelaySatPerKvB: 30_000n };

  it('takes the largest coins first and returns change', () => {
    const sel = selectCoins({ ...base, utxos: [utxo(1, 50_000n), utxo(2, 500_000n), utxo(3, 80_000n)], outputs: [out] })!;
    expect(sel.inputs.map((u) => u.value)).toEqual([500_000n]);
    // 1 P2WPKH input, 2 P2WPKH outputs: 11 + 68 + 2 * 31 = 141 vB at 10 sat/vB.
    expect(sel.vsize).toBe(141);
    expect(sel.fee).toBe(1_410n);
    expect(sel.change).toBe(500_000n - 100_000n - 1_410n);
  });

  it('adds coins until the orders and the fee are covered', () => {
    const sel = selectCoins({ ...base, utxos: [utxo(1, 60_000n), utxo(2, 50_000n), utxo(3, 40_000n)], outputs: [out] })!;
    expect(sel.inputs.map((u) => u.value)).toEqual([60_000n, 50_000n]);
    // 2 inputs, 2 outputs: 834 weight units -> 209 vB.
    expect(sel).toMatchObject({ vsize: 209, fee: 2_090n, change: 7_910n });
  });

  it('gives a remainder below dust to the fee instead of making change', () => {
    const sel = selectCoins({ ...base, utxos: [utxo(1, 103_000n)], outputs: [out] })!;
    expect(sel.change).toBe(0n);
    expect(sel.fee).toBe(3_000n);
    expect(sel.vsize).toBe(110);
  });

  it('returns null when the coins cannot cover orders and fee', () => {
    expect(selectCoins({ ...base, utxos: [utxo(1, 100_500n)], outputs: [out] })).toBeNull();
    expect(selectCoins({ ...base, utxos: [], outputs: [out] })).toBeNull();
  });
});

/** A scripted node holding the given outputs of one address. */
function fakeNode(opts: {
  utxos: { txid: string; vout: number; amount: number; scriptPubKey: string; coinbase?: boolean; confirmations?: number; spent?: boolean }[];
  feerate?: number;
  mempoolminfee?: number;
}): RpcTransport & { sent: string[] } {
  const sent: string[] = [];
  return {
    sent,
    async call<T>(method: string, p: unknown[] = []): Promise<T> {
      const answer = (): unknown => {
        switch (method) {
          case 'estimatesmartfee':
            return opts.feerate === undefined ? { errors: ['Insufficient data or no feerate found'], blocks: 0 } : { feerate: opts.feerate, blocks: 6 };
          case 'getmempoolinfo':
            return { mempoolminfee: opts.mempoolminfee ?? 0.00001 };
          case 'scantxoutset':
            return { success: true, unspents: opts.utxos.map(({ txid, vout, amount, scriptPubKey }) => ({ txid, vout, amount, scriptPubKey })) };
          case 'gettxout': {
            const u = opts.utxos.find((x) => x.txid === p[0] && x.vout === p[1])!;
            return u.spent ? null : { confirmations: u.confirmations ?? 10, coinbase: u.coinbase ?? false };
          }
          case 'sendrawtransaction':
            sent.push(p[0] as string);
            return Transaction.fromHex(p[0] as string).getId();
          default:
            throw new Error(`unexpected ${method}`);
        }
      };
      return answer() as T;
    },
    async post<T>(): Promise<T> {
      throw new Error('no post');
    },
  };
}

describe('BitcoinSigner against a scripted node', () => {
  const from = addressOf(1);
  const fromScript = Buffer.from(scriptOf(from)).toString('hex');

  it('uses the estimate, the fallback, the floor and the mempool minimum', async () => {
    expect(await new BitcoinSigner(devLtc, fakeNode({ utxos: [] })).feeRate()).toBe(10_000n);
    expect(await new BitcoinSigner(devLtc, fakeNode({ utxos: [] }), { fallbackFeeRate: 2.5 }).feeRate()).toBe(2_500n);
    expect(await new BitcoinSigner(devLtc, fakeNode({ utxos: [], feerate: 0.00002345 })).feeRate()).toBe(2_345n);
    expect(await new BitcoinSigner(devLtc, fakeNode({ utxos: [], feerate: 0.000005, mempoolminfee: 0.000001 })).feeRate()).toBe(1_000n);
    expect(await new BitcoinSigner(devLtc, fakeNode({ utxos: [], feerate: 0.00002, mempoolminfee: 0.00005 })).feeRate()).toBe(5_000n);
    expect(await new BitcoinSigner(devLtc, fakeNode({ utxos: [], feerate: 1 })).feeRate()).toBe(2_000_000n);
  });

  it('signs many outputs plus change in one transaction, skipping spent and immature coins', async () => {
    const node = fakeNode({
      utxos: [
        { txid: fakeTxid(1), vout: 0, amount: 0.5, scriptPubKey: fromScript },
        { txid: fakeTxid(2), vout: 1, amount: 20, scriptPubKey: fromScript, spent: true },
        { txid: fakeTxid(3), vout: 0, amount: 50, scriptPubKey: fromScript, coinbase: true, confirmations: 99 },
        { txid: fakeTxid(4), vout: 2, amount: 0.7, scriptPubKey: fromScript },
      ],
    });
    const signer = new BitcoinSigner(devLtc, node);
    const orders = [
      { to: addressOf(2), coinId: COIN, amount: 30_000_000n },
      { to: addressOf(3), coinId: COIN, amount: 50_000_000n },
      { to: 'QgDNrG4nJpE4VV7PcFMFhkTgwAHWxWS7pj', coinId: COIN, amount: 10_000n },
    ];
    const signed = await signer.sign({ privateKey: priv(1), address: from }, orders);
    const tx = Transaction.fromHex(signed.raw);
    expect(tx.getId()).toBe(signed.txHash);
    expect(tx.ins.map((i) => Buffer.from(i.hash).reverse().toString('hex'))).toEqual([fakeTxid(4), fakeTxid(1)]);
    expect(tx.ins.every((i) => i.sequence === 0xfffffffd)).toBe(true);
    expect(tx.outs.map((o) => o.value)).toEqual([30_000_000n, 50_000_000n, 10_000n, 120_000_000n - 80_010_000n - signed.fee.fee]);
    expect(Buffer.from(tx.outs[3]!.script).toString('hex')).toBe(fromScript);
    // Fee covers the real size at the fallback 10 sat/vB; estimated with 73-byte signatures, so at most a few vB over.
    expect(signed.fee.fee).toBeGreaterThanOrEqual(BigInt(tx.virtualSize()) * 10n);
    expect(signed.fee.fee).toBeLessThanOrEqual(BigInt(tx.virtualSize() + 2) * 10n);
    expect(signed.fee.detail).toMatchObject({ satPerVByte: '10', inputs: '2' });
    expect(await signer.broadcast(signed)).toBe(signed.txHash);
  });

  it('estimates without a key, and says when funds are short', async () => {
    const node = fakeNode({ utxos: [{ txid: fakeTxid(1), vout: 0, amount: 0.001, scriptPubKey: fromScript }] });
    const signer = new BitcoinSigner(devLtc, node);
    const ok = await signer.estimateFee(from, [{ to: addressOf(2), coinId: COIN, amount: 50_000n }]);
    expect(ok.detail.sufficientFunds).toBe('true');
    expect(ok.fee).toBe(1_410n);
    const short = await signer.estimateFee(from, [{ to: addressOf(2), coinId: COIN, amount: 5_000_000n }]);
    expect(short.detail.sufficientFunds).toBe('false');
    await expect(signer.sign({ privateKey: priv(1), address: from }, [{ to: addressOf(2), coinId: COIN, amount: 5_000_000n }])).rejects.toMatchObject({
      code: 'INSUFFICIENT_FUNDS',
    });
  });

  it('refuses a key for another address, dust, foreign coins and invalid addresses before touching coins', async () => {
    const signer = new BitcoinSigner(devLtc, fakeNode({ utxos: [] }));
    const ok = { to: addressOf(2), coinId: COIN, amount: 100_000n };
    await expect(signer.sign({ privateKey: priv(2), address: from }, [ok])).rejects.toMatchObject({ code: 'KEY_MISMATCH' });
    await expect(signer.sign({ privateKey: priv(1), address: from }, [{ ...ok, amount: 2_939n }])).rejects.toThrow(/dust/);
    await expect(signer.sign({ privateKey: priv(1), address: from }, [{ ...ok, coinId: 'litecoin:LTC' }])).rejects.toMatchObject({ code: 'BAD_USER_INPUT' });
    await expect(signer.sign({ privateKey: priv(1), address: from }, [{ ...ok, to: 'ltc1qhdhvrwe6rgqns8fz28tee0hphr5x7ulw5exv4w' }])).rejects.toThrow(
      /wrong network prefix/,
    );
    await expect(signer.sign({ privateKey: priv(1), address: from }, [])).rejects.toThrow(/at least one order/);
  });

  it('treats an already known transaction as broadcast', async () => {
    const raw = '02000000000100000000';
    for (const message of ['Transaction already in block chain', 'txn-already-known', 'txn-already-in-mempool']) {
      const node: RpcTransport = {
        call: async () => {
          const { ChainError } = await import('../types');
          throw new ChainError(`sendrawtransaction: ${message} (-27)`, false, { code: message.startsWith('T') ? -27 : -26, message });
        },
        post: async () => undefined as never,
      };
      expect(await new BitcoinSigner(devLtc, node).broadcast({ txHash: 'h', raw, fee: { fee: 0n, detail: {} } })).toBe('h');
    }
  });
});

describe('P2WSH multisig (offline)', () => {
  const keys = [1, 2, 3];
  const wallet = createMultisig(devLtc, 2, keys.map(pub));
  const utxo: Utxo = { txid: fakeTxid(9), vout: 1, value: 200_000_000n, script: scriptOf(wallet.address) };
  const orders = [
    { to: addressOf(4), coinId: COIN, amount: 70_000_000n },
    { to: addressOf(1), coinId: COIN, amount: 30_000_000n },
  ];
  const unsigned = buildMultisigPsbt(devLtc, wallet, [utxo], orders, 10_000n).psbt;

  it('makes the same P2WSH address whatever the key order', () => {
    expect(wallet.address).toMatch(/^rltc1q[a-z0-9]{58}$/);
    expect(createMultisig(devLtc, 2, [pub(3), pub(1), pub(2)]).address).toBe(wallet.address);
    expect(wallet.witnessScript.startsWith('52')).toBe(true); // OP_2
    expect(wallet.witnessScript.endsWith('53ae')).toBe(true); // OP_3 OP_CHECKMULTISIG
    expect(createMultisig(devLtc, 3, keys.map(pub)).address).not.toBe(wallet.address);
  });

  it('refuses bad key sets', () => {
    expect(() => createMultisig(devLtc, 3, [pub(1), pub(2)])).toThrow(/m must be/);
    expect(() => createMultisig(devLtc, 1, [pub(1), pub(1)])).toThrow(/distinct/);
    expect(() => createMultisig(devLtc, 1, [Buffer.alloc(33, 7)])).toThrow(/compressed/);
  });

  it('cannot finalise with one signature; can with two, from one PSBT or combined copies', () => {
    const one = signMultisigPsbt(devLtc, unsigned, priv(1));
    expect(multisigSignatureCounts(devLtc, one)).toEqual([{ have: 1, need: 2 }]);
    expect(() => finalizeMultisigPsbt(devLtc, one)).toThrow(BitcoinSignerError);
    expect(() => finalizeMultisigPsbt(devLtc, one)).toThrow('input 0 has 1 of the 2 signatures it needs; cannot finalise');
    expect(() => finalizeMultisigPsbt(devLtc, unsigned)).toThrow(/0 of the 2/);

    const two = signMultisigPsbt(devLtc, one, priv(3));
    const done = finalizeMultisigPsbt(devLtc, two);
    const tx = Transaction.fromHex(done.raw);
    expect(tx.getId()).toBe(done.txHash);
    expect(tx.ins[0]!.witness).toHaveLength(4); // dummy, 2 signatures, witness script
    expect(tx.ins[0]!.witness[0]).toHaveLength(0);
    expect(Buffer.from(tx.ins[0]!.witness[3]!).toString('hex')).toBe(wallet.witnessScript);
    expect(tx.outs.slice(0, 2).map((o) => o.value)).toEqual([70_000_000n, 30_000_000n]);
    expect(Buffer.from(tx.outs[2]!.script).toString('hex')).toBe(Buffer.from(utxo.script).toString('hex'));

    const combined = combineMultisigPsbts(devLtc, [signMultisigPsbt(devLtc, unsigned, priv(2)), signMultisigPsbt(devLtc, unsigned, priv(1))]);
    expect(finalizeMultisigPsbt(devLtc, combined).raw).toBe(
      finalizeMultisigPsbt(devLtc, signMultisigPsbt(devLtc, signMultisigPsbt(devLtc, unsigned, priv(1)), priv(2))).raw,
    );
  });

  it('uses exactly m signatures when all n signed', () => {
    let psbt = unsigned;
    for (const k of keys) psbt = signMultisigPsbt(devLtc, psbt, priv(k));
    expect(multisigSignatureCounts(devLtc, psbt)).toEqual([{ have: 3, need: 2 }]);
    expect(Transaction.fromHex(finalizeMultisigPsbt(devLtc, psbt).raw).ins[0]!.witness).toHaveLength(4);
  });

  it('is idempotent per cosigner and refuses outsiders', () => {
    const once = signMultisigPsbt(devLtc, unsigned, priv(2));
    expect(signMultisigPsbt(devLtc, once, priv(2))).toBe(once);
    expect(() => signMultisigPsbt(devLtc, unsigned, priv(4))).toThrow(/not a cosigner/);
  });

  it('does not count a forged signature', () => {
    const signed = Psbt.fromBase64(signMultisigPsbt(devLtc, signMultisigPsbt(devLtc, unsigned, priv(1)), priv(2)));
    const sig = signed.data.inputs[0]!.partialSig![0]!;
    sig.signature = Uint8Array.from(sig.signature);
    sig.signature[10] ^= 1;
    expect(() => finalizeMultisigPsbt(devLtc, signed.toBase64())).toThrow(/1 of the 2/);
  });
});
