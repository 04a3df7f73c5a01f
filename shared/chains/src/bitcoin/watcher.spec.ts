import { readFileSync } from 'node:fs';
import path from 'node:path';
import { getNetwork } from '../networks';
import { ChainError, type RpcTransport } from '../types';
import { bitcoinCodec } from './codec';
import { BitcoinWatcher, blockTransfers, type RawBlock, type RawTransaction } from './watcher';

const FIXTURES = path.join(__dirname, '..', '..', '..', 'fixtures', 'bitcoin');
const block = (file: string) => JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as RawBlock;

const bitcoin = getNetwork('bitcoin');
const litecoin = getNetwork('litecoin');
const devLtc = getNetwork('dev-ltc');

describe('blockTransfers on recorded getblock (verbosity 2) answers', () => {
  it('BTC 766390 (modern Core, `address`): 24 transfers, coinbase and OP_RETURN left out', () => {
    const b = blockTransfers(bitcoin, block('btc_mainnet_getblock_766390_verbosity2.json'));
    expect(b).toMatchObject({
      height: 766390,
      hash: '000000000000000000042a943da8d706731d5d46190bdd96d0c009abc531da46',
      parentHash: '000000000000000000075bae6cd5fec1f241b01a46b3b45e9628a2efb769cede',
      timestamp: 1670462014,
    });
    expect(b.transfers).toHaveLength(24);
    // The coinbase pays bc1qxhmdufsvnuaaaer4ynz88fspdsxq2h9e9cetdj 6.25033588 BTC: not a deposit.
    expect(b.transfers.some((t) => t.to === 'bc1qxhmdufsvnuaaaer4ynz88fspdsxq2h9e9cetdj')).toBe(false);
    expect(b.transfers.filter((t) => t.txHash === 'e9fb1349ea30174ad67e2e4e9f8dddd94aefed37bb1694fd845e4392bc08011e')).toEqual([
      {
        network: 'bitcoin',
        txHash: 'e9fb1349ea30174ad67e2e4e9f8dddd94aefed37bb1694fd845e4392bc08011e',
        index: 0,
        from: null,
        to: '1EFBsAdysTf81k72v9Zqsj3NMuo6KoWD2r',
        coinId: 'bitcoin:BTC',
        amount: 1_000n,
        blockHeight: 766390,
        blockHash: '000000000000000000042a943da8d706731d5d46190bdd96d0c009abc531da46',
      },
      {
        network: 'bitcoin',
        txHash: 'e9fb1349ea30174ad67e2e4e9f8dddd94aefed37bb1694fd845e4392bc08011e',
        index: 1,
        from: null,
        to: 'bc1qh6hz5arx4n6ekkvkqe0herc28933g435xvnnng',
        coinId: 'bitcoin:BTC',
        amount: 33_376_030n,
        blockHeight: 766390,
        blockHash: '000000000000000000042a943da8d706731d5d46190bdd96d0c009abc531da46',
      },
    ]);
    // Taproot, P2WSH and small values that JavaScript prints in exponent form (7.74e-6).
    const find = (tx: string, index: number) => b.transfers.find((t) => t.txHash.startsWith(tx) && t.index === index);
    expect(find('24c46ce83a', 0)).toMatchObject({ to: 'bc1pnxxlrl57reczzs48cs0wg9eeuha60h4el3dnn3stugu7trhhqxdq24cefn', amount: 1_187_176n });
    expect(find('a14289b111', 1)).toMatchObject({ to: 'bc1q24lfpdvwx05235azwpmql9ccl6d8neu30mvresnll0uheqd5qy6qxjwlta', amount: 9_184_669n });
    expect(find('d5d2234484', 1)).toMatchObject({ to: 'bc1q5r6jxpw6wju4a05rl5lezeahlh79adh0w4f834', amount: 2_831n });
    expect(find('7582e83543', 0)).toMatchObject({ to: '1CfaunqrVpcXmpLheUVWeSP1KPsKDha1Nb', amount: 774n });
  });

  it('BTC 50001 (old Core, `addresses`): the P2PK coinbase is left out, P2PKH outputs kept', () => {
    const b = blockTransfers(bitcoin, block('btc_mainnet_getblock_50001_verbosity2.json'));
    expect(b.transfers.map((t) => [t.txHash.slice(0, 10), t.index, t.to, t.amount])).toEqual([
      ['7940cdde4d', 0, '1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ', 10_000_000_000n],
      ['f84761459a', 0, '1HaHTfmvoUW6i6nhJf8jJs6tU4cHNmBQHQ', 5_000_000_000n],
    ]);
  });

  it('LTC 2383209 (Litecoin 0.21, `addresses`, MWEB HogEx): 11 transfers', () => {
    const b = blockTransfers(litecoin, block('ltc_mainnet_getblock_2383209_verbosity2.json'));
    expect(b.height).toBe(2383209);
    expect(b.parentHash).toBe('d01b594f0540457648f21cfc6ae1e65bc04324d55e551deeaa276da18993ed4b');
    expect(b.transfers).toHaveLength(11);
    expect(
      b.transfers
        .filter((t) => t.txHash === '237f0d5ef5a58ed285623f67bf4d1ebcc520c5370fac0cfb10c4e00753f96aeb')
        .map((t) => [t.index, t.to, t.amount, t.coinId]),
    ).toEqual([
      [0, 'LfSy2Z2w4qMSkeEeY3ZLtmecXo2anAJJML', 65_988_000n, 'litecoin:LTC'],
      [1, 'LhoAwmdUTwu39Y9zutEr2frtYa1xrsGiui', 1_301_449_678n, 'litecoin:LTC'],
    ]);
    // The HogEx output (witness_mweb_hogaddr, 7931.99220526 LTC) has no address.
    expect(b.transfers.some((t) => t.txHash.startsWith('fbcbab14f3'))).toBe(false);
  });

  it('LTC 2383207: 12 transfers, every output address valid on litecoin', () => {
    const b = blockTransfers(litecoin, block('ltc_mainnet_getblock_2383207_verbosity2.json'));
    expect(b.transfers).toHaveLength(12);
    // Sum of the non-coinbase outputs, 26.70664619 LTC (added up from the JSON text with Python's Decimal).
    expect(b.transfers.reduce((s, t) => s + t.amount, 0n)).toBe(2_670_664_619n);
    for (const t of b.transfers) expect(bitcoinCodec.validateAddress(litecoin, t.to)).toEqual({ valid: true, normalized: t.to });
  });
});

/** A scripted node: answers per method, records what was asked. */
function fakeNode(handlers: Record<string, (params: unknown[]) => unknown>): RpcTransport & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async call<T>(method: string, params: unknown[] = []): Promise<T> {
      calls.push(`${method} ${JSON.stringify(params)}`);
      const h = handlers[method];
      if (!h) throw new Error(`unexpected ${method}`);
      return h(params) as T;
    },
    async post<T>(): Promise<T> {
      throw new Error('no post');
    },
  };
}

const nodeError = (code: number, message: string) => new ChainError(`${message} (${code})`, false, { code, message });

function mempoolTx(txid: string, to: string, value: number): RawTransaction {
  return { txid, vin: [{ txid: 'ab'.repeat(32), vout: 0 }], vout: [{ value, n: 0, scriptPubKey: { type: 'witness_v0_keyhash', addresses: [to] } }] };
}

describe('BitcoinWatcher against a scripted node', () => {
  const A = 'rltc1q3kquwp848h4juq7rl5q3wqsr29pd3d6wprzz8k';

  it('fetches each mempool transaction once and forgets those that left', async () => {
    let mempool = ['t1', 't2'];
    const node = fakeNode({
      getrawmempool: () => mempool,
      getrawtransaction: ([txid]) => {
        if (txid === 't3') throw nodeError(-5, 'No such mempool or blockchain transaction');
        return mempoolTx(txid as string, A, 0.5);
      },
    });
    const w = new BitcoinWatcher(devLtc, node);
    const first = await w.getMempoolTransfers();
    expect(first.map((t) => [t.txHash, t.amount, t.blockHeight, t.blockHash])).toEqual([
      ['t1', 50_000_000n, null, null],
      ['t2', 50_000_000n, null, null],
    ]);
    mempool = ['t2', 't3', 't4'];
    const second = await w.getMempoolTransfers();
    expect(second.map((t) => t.txHash)).toEqual(['t2', 't4']);
    expect(node.calls.filter((c) => c.startsWith('getrawtransaction')).map((c) => JSON.parse(c.split(' ')[1]!)[0])).toEqual(['t1', 't2', 't3', 't4']);
  });

  it('reports confirmed, pending and dropped', async () => {
    const node = fakeNode({
      getindexinfo: () => ({ txindex: { synced: true, best_block_height: 10 } }),
      getrawtransaction: ([txid]) => {
        if (txid === 'mined') return { ...mempoolTx('mined', A, 1), blockhash: 'bh', confirmations: 2 };
        if (txid === 'waiting') return mempoolTx('waiting', A, 1);
        if (txid === 'orphaned') return { ...mempoolTx('orphaned', A, 1), blockhash: 'stale' };
        throw nodeError(-5, 'No such mempool or blockchain transaction');
      },
      getblockheader: () => ({ hash: 'bh', height: 9, confirmations: 2 }),
      getmempoolentry: () => {
        throw nodeError(-5, 'Transaction not in mempool');
      },
    });
    const w = new BitcoinWatcher(devLtc, node);
    expect(await w.getTransactionStatus('mined')).toEqual({ state: 'confirmed', blockHeight: 9, blockHash: 'bh' });
    expect(await w.getTransactionStatus('waiting')).toEqual({ state: 'pending' });
    expect(await w.getTransactionStatus('gone')).toEqual({ state: 'dropped' });
    expect(await w.getTransactionStatus('orphaned')).toEqual({ state: 'dropped' });
  });

  it('refuses to report status from a node without txindex', async () => {
    const w = new BitcoinWatcher(devLtc, fakeNode({ getindexinfo: () => ({}) }));
    await expect(w.getTransactionStatus('x')).rejects.toThrow(/txindex/);
  });

  it('returns null above the tip and passes transport failures through', async () => {
    const w = new BitcoinWatcher(
      devLtc,
      fakeNode({
        getblockhash: ([h]) => {
          if ((h as number) > 5) throw nodeError(-8, 'Block height out of range');
          throw new ChainError('rpc unreachable', true);
        },
      }),
    );
    expect(await w.getBlockRef(6)).toBeNull();
    await expect(w.getBlockRef(1)).rejects.toMatchObject({ transient: true });
  });

  it('re-reads a block that left the active chain between getblockhash and getblock', async () => {
    let n = 0;
    const node = fakeNode({
      getblockhash: () => (n++ === 0 ? 'old' : 'new'),
      getblock: ([hash]) => ({ hash, height: 3, previousblockhash: 'p', time: 1, confirmations: hash === 'old' ? -1 : 1, tx: [] }),
    });
    const b = await new BitcoinWatcher(devLtc, node).getBlockTransfers(3);
    expect(b.hash).toBe('new');
  });
});
