import * as ecc from 'tiny-secp256k1';
import { BIP32Factory } from 'bip32';
import { mnemonicToSeedSync } from 'bip39';
import { createRpcPool } from '../src/rpc';
import { getNetwork } from '../src/networks';
import { ChainError, type NetworkConfig, type RpcTransport, type SignedTransaction, type SigningKey } from '../src/types';
import { tronCodec } from '../src/tron/codec';
import { FakeTronNode, MAINNET_USDT_CAPTURES, readTronFixture, recoverSigner } from '@cpg/devkit/chains/tron/fake-node';
import { bandwidthBytes, sha256Hex, type TronBlockJson, type TronTransactionJson, type TronTxInfoJson } from '../src/tron/protocol';
import { TronSigner } from '../src/tron/signer';
import { TronWatcher } from '../src/tron/watcher';

const tron = getNetwork('tron', {});
const shasta = getNetwork('tron-shasta', {});
const USDT = 'TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t';
const SHASTA_USDT = 'TG3XXyExBkPp9nzdajDZsozEu4BkaSJozs';
const MNEMONIC = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

type Capture = { transaction: TronTransactionJson; info: TronTxInfoJson };
const captures = MAINNET_USDT_CAPTURES.map((p) => readTronFixture<Capture>(p));
const capture = (txId: string) => structuredClone(captures.find((c) => c.transaction.txID.startsWith(txId))!);

function withCoins(network: NetworkConfig, extra: { symbol: string; contract: string }[], keepTokens = false): NetworkConfig {
  const base = keepTokens ? network.coins : [network.nativeCoin];
  const coins = [
    ...base,
    ...extra.map((e) => ({ id: `${network.id}:${e.symbol}`, symbol: e.symbol, name: e.symbol, decimals: 6, minDeposit: 1n, contract: e.contract })),
  ];
  return { ...network, coins };
}

async function startNode(recorded: 'shasta' | 'mainnet', opts: Partial<Parameters<typeof FakeTronNode.start>[0]> = {}) {
  const node = await FakeTronNode.start({ recorded, ...opts });
  const transport = createRpcPool([{ url: node.url }], { timeoutMs: 5_000 });
  return { node, transport };
}

describe('TronWatcher over the recorded Shasta blocks', () => {
  let node: FakeTronNode;
  let transport: RpcTransport;
  beforeAll(async () => ({ node, transport } = await startNode('shasta')));
  afterAll(() => node.close());

  it('reads tip and block refs', async () => {
    const w = new TronWatcher(shasta, transport);
    expect(await w.getTipHeight()).toBe(46929239);
    expect(await w.getBlockRef(46929239)).toEqual({
      height: 46929239,
      hash: '0000000002cc15576e3142f7d82e5dddaa21d6c19c798bdbda2085dbb24e7fb1',
      parentHash: '0000000002cc1556fbed6c734d1bff1154cec46dd572ad0d4a3142a373a1a829',
      timestamp: 1724396007,
    });
    expect(await w.getBlockRef(200)).toEqual({
      height: 200,
      hash: '00000000000000c86d2473411771f83db5e314c01bc8f8cf0dc2f8892be6fd7f',
      parentHash: '00000000000000c7d4d47132f21fd0b74e2f8bcb0c2e9130f7cab35b5d38af9f',
      timestamp: 1575594618,
    });
    expect(await w.getBlockRef(46929240)).toBeNull();
    expect(await w.getMempoolTransfers()).toEqual([]);
  });

  it('yields exactly the four TRX transfers of block 46929239, and no receipts are fetched without registered tokens', async () => {
    const w = new TronWatcher(shasta, transport);
    const block = await w.getBlockTransfers(46929239);
    const common = {
      network: 'tron-shasta',
      index: 0,
      coinId: 'tron-shasta:TRX',
      blockHeight: 46929239,
      blockHash: '0000000002cc15576e3142f7d82e5dddaa21d6c19c798bdbda2085dbb24e7fb1',
    };
    const a = { ...common, from: 'TF6Cy9YqhpKkLwnLBVUVeBFCsWFauTP4yJ', to: 'TF3WzxA6sTjNzE6GkjP3y5oHCDNbqGYDYs', amount: 1000n };
    expect(block.transfers).toEqual([
      { ...a, txHash: 'ab1f6628abb23a09a1bd1fe3f632cb917e7f6c1a438527cc2a32f63d92458a10' },
      { ...a, txHash: '599b66a8d658974e57f906ed1953d66b8723403fe48198fa2c575668f6b9de5a' },
      { ...a, txHash: 'a3e7da80300fc5b5220cf88d726c1d60c998073bc659d77bc419ede7443d95bc' },
      {
        ...common,
        txHash: '68bc1244da2dbcde50954c4b250d07a258eb02fbb228681d600dfac27b44d145',
        from: 'TT9La3aUttK4YpuSrG1s8cwdjeiPeu7o1P',
        to: 'TFzKbNLRpbhDB4rqkHsPKE8quBjsPkQHc8',
        amount: 100000n,
      },
    ]);
    expect(node.calls.get('/wallet/gettransactioninfobyblocknum')).toBeUndefined();
    expect((await w.getBlockTransfers(200)).transfers).toEqual([]);
  });

  it('refuses to skip a registered token whose receipts the node cannot give (no silent miss)', async () => {
    const w = new TronWatcher(withCoins(shasta, [{ symbol: 'USDT', contract: SHASTA_USDT }]), transport);
    await expect(w.getBlockTransfers(46929239)).rejects.toMatchObject({
      name: 'ChainError',
      transient: true,
      message: expect.stringMatching(/receipt of e8fa01d9/),
    });
  });

  it('with several endpoints the highest head wins', async () => {
    const { node: ahead } = await startNode('mainnet');
    try {
      const pool = createRpcPool([{ url: node.url }, { url: ahead.url }], { timeoutMs: 5_000 });
      expect(await new TronWatcher(shasta, pool).getTipHeight()).toBe(84286946);
      const plain: RpcTransport = { call: () => Promise.reject(new Error('unused')), post: (path, body) => transport.post(path, body) };
      expect(await new TronWatcher(shasta, plain).getTipHeight()).toBe(46929239);
    } finally {
      await ahead.close();
    }
  });

  it('a block that is not there yet is a transient error', async () => {
    await expect(new TronWatcher(shasta, transport).getBlockTransfers(46929300)).rejects.toMatchObject({ transient: true });
  });
});

describe('TronWatcher over the recorded mainnet USDT transfers', () => {
  let node: FakeTronNode;
  let transport: RpcTransport;
  beforeEach(async () => ({ node, transport } = await startNode('mainnet')));
  afterEach(() => node.close());

  const first = {
    network: 'tron',
    txHash: '985e1025996d272399ee5dab76dcbb1ff19ea14112b747c3c2fc0510b6018d2e',
    index: 0,
    from: 'TQ8bAk4kyqL3L9pKzQCvbTqzLz4ZiWjV57',
    to: 'TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx',
    coinId: 'tron:USDT',
    amount: 3_358_015n,
    blockHeight: 84285095,
  };
  const second = {
    network: 'tron',
    txHash: '09ced8884304c13fed8642595593f6c3724173d6848e64a3f27849b055249429',
    index: 0,
    from: 'TPoQq65NQYpYTBcxCUozQPUDKSHHdXuTLi',
    to: 'TLPMDDSEH7g12TRrNT6VXS5CfrWNMkNpJf',
    coinId: 'tron:USDT',
    amount: 2_000_000n,
    blockHeight: 84286946,
  };

  it('yields each recorded USDT transfer with one receipts call per block', async () => {
    const w = new TronWatcher(tron, transport);
    const b1 = await w.getBlockTransfers(84285095);
    const b2 = await w.getBlockTransfers(84286946);
    expect(b1.transfers).toEqual([{ ...first, blockHash: b1.hash }]);
    expect(b2.transfers).toEqual([{ ...second, blockHash: b2.hash }]);
    expect(node.calls.get('/wallet/gettransactioninfobyblocknum')).toBe(2);
    expect(node.calls.get('/wallet/gettransactioninfobyid')).toBeUndefined();
  });

  it("gives the same transfers per transaction in 'tx' mode, and falls back to it when the block endpoint is missing", async () => {
    const perTx = new TronWatcher(tron, transport, { txInfoMode: 'tx' });
    expect((await perTx.getBlockTransfers(84285095)).transfers).toMatchObject([first]);
    expect(node.calls.get('/wallet/gettransactioninfobyid')).toBe(1);
    const { node: old, transport: oldTransport } = await startNode('mainnet', { disabledPaths: ['/wallet/gettransactioninfobyblocknum'] });
    try {
      const w = new TronWatcher(tron, oldTransport);
      expect((await w.getBlockTransfers(84286946)).transfers).toMatchObject([second]);
      expect((await w.getBlockTransfers(84285095)).transfers).toMatchObject([first]);
      expect(old.calls.get('/wallet/gettransactioninfobyblocknum')).toBe(1);
      expect(old.calls.get('/wallet/gettransactioninfobyid')).toBe(2);
    } finally {
      await old.close();
    }
  });

  it('an unregistered TRC-20 yields nothing', async () => {
    const trxOnly = new TronWatcher(withCoins(tron, []), transport);
    expect((await trxOnly.getBlockTransfers(84285095)).transfers).toEqual([]);
    expect(node.calls.get('/wallet/gettransactioninfobyblocknum')).toBeUndefined();
    const otherToken = new TronWatcher(withCoins(tron, [{ symbol: 'OTHER', contract: SHASTA_USDT }]), transport);
    expect((await otherToken.getBlockTransfers(84285095)).transfers).toEqual([]);
    expect((await otherToken.getBlockTransfers(84286946)).transfers).toEqual([]);
  });

  it('failed and REVERT receipts yield nothing, even when they carry a Transfer log', async () => {
    const w = new TronWatcher(tron, transport);
    const reverted = capture('985e');
    reverted.info.receipt!.result = 'REVERT';
    reverted.info.result = 'FAILED';
    const blockRevert = node.appendBlock([reverted.transaction], [reverted.info]);
    expect((await w.getBlockTransfers(blockRevert.block_header!.raw_data.number!)).transfers).toEqual([]);

    // The recorded OUT_OF_ENERGY receipt (a DEX swap), verbatim except for a USDT Transfer log copied in;
    // its transaction was not recorded, so a stub carrying its id stands in for it.
    const failed = readTronFixture<TronTxInfoJson>('metamask-mainnet-mocks/gettransactioninfobyid_FAILED_OUT_OF_ENERGY_fb1ba8f0.json');
    failed.log = capture('09ced').info.log;
    const stub = { ...capture('09ced').transaction, txID: failed.id!, ret: [{ contractRet: 'OUT_OF_ENERGY' }] };
    const blockFailed = node.appendBlock([stub], [failed]);
    expect((await w.getBlockTransfers(blockFailed.block_header!.raw_data.number!)).transfers).toEqual([]);

    // A contract receipt saying SUCCESS is not enough when the block's contractRet disagrees.
    const disagreeing = capture('09ced');
    disagreeing.transaction.ret = [{ contractRet: 'REVERT' }];
    const blockDisagree = node.appendBlock([disagreeing.transaction], [disagreeing.info]);
    expect((await w.getBlockTransfers(blockDisagree.block_header!.raw_data.number!)).transfers).toEqual([]);
  });

  it('receipts that belong to other transactions (a fork switch between the two reads) are a transient error', async () => {
    const foreign = capture('09ced').info;
    const forked: RpcTransport = {
      call: () => Promise.reject(new Error('unused')),
      post: async <T>(path: string, body: unknown) => {
        const res = await transport.post<unknown>(path, body);
        return (
          path === '/wallet/gettransactioninfobyblocknum' ? [...(res as TronTxInfoJson[]), { ...foreign, blockNumber: (body as { num: number }).num }] : res
        ) as T;
      },
    };
    const w = new TronWatcher(tron, forked);
    const a = capture('985e');
    const block = node.appendBlock([a.transaction], [a.info]);
    await expect(w.getBlockTransfers(block.block_header!.raw_data.number!)).rejects.toMatchObject({
      transient: true,
      message: expect.stringMatching(/fork switch/),
    });
  });

  it('TRX transfers count only with contractRet SUCCESS', async () => {
    const w = new TronWatcher(tron, transport);
    const v1 = readTronFixture<TronTransactionJson>('metamask-mainnet-mocks/trongrid_v1_account_transaction_item_trx_transfer.json');
    const tx: TronTransactionJson = {
      ret: [{ contractRet: 'SUCCESS' }],
      signature: v1.signature,
      txID: v1.txID,
      raw_data: v1.raw_data,
      raw_data_hex: v1.raw_data_hex,
    };
    const ok = node.appendBlock([tx], []);
    expect((await w.getBlockTransfers(ok.block_header!.raw_data.number!)).transfers).toMatchObject([
      {
        txHash: '8145535b24f71bc592b8ab2d94e91a30d12f74ab33fa4aab2ff2a27b767fc49b',
        index: 0,
        coinId: 'tron:TRX',
        amount: 10_000n,
        from: 'TGJn1wnUYHJbvN88cynZbsAz2EMeZq73yx',
        to: 'TEFik7dGm6r5Y1Af9mGwnELuJLa1jXDDUB',
      },
    ]);
    const bad = node.appendBlock([{ ...tx, ret: [{ contractRet: 'REVERT' }] }], []);
    expect((await w.getBlockTransfers(bad.block_header!.raw_data.number!)).transfers).toEqual([]);
  });

  it('reads a TRX amount above 2^53 sun exactly from raw_data_hex', async () => {
    // JSON.parse turns such an amount into an inexact float; the protobuf bytes keep it exact.
    const big = 2n ** 60n + 7n;
    const owner = Buffer.from('41458437be39f3a8bfdbfee7bef93e2c5f632ceff4', 'hex');
    const to = Buffer.from('412efffc7686e54ab669a1cdb1e2cc17cf4b4eca96', 'hex');
    const value = Buffer.concat([pbBytes(1, owner), pbBytes(2, to), pbVarint(3, big)]);
    const any = Buffer.concat([pbBytes(1, Buffer.from('type.googleapis.com/protocol.TransferContract')), pbBytes(2, value)]);
    const contract = Buffer.concat([pbVarint(1, 1n), pbBytes(2, any)]);
    const raw = Buffer.concat([
      pbBytes(1, Buffer.from('1dd6', 'hex')),
      pbBytes(4, Buffer.from('994b2be7ad6ed753', 'hex')),
      pbVarint(8, 1783530798000n),
      pbBytes(11, contract),
      pbVarint(14, 1783530738000n),
    ]);
    const rawHex = raw.toString('hex');
    const tx: TronTransactionJson = {
      ret: [{ contractRet: 'SUCCESS' }],
      signature: ['00'.repeat(65)],
      txID: sha256Hex(rawHex),
      raw_data: {
        contract: [
          {
            type: 'TransferContract',
            parameter: {
              type_url: 'type.googleapis.com/protocol.TransferContract',
              value: { amount: Number(big), owner_address: owner.toString('hex'), to_address: to.toString('hex') },
            },
          },
        ],
        ref_block_bytes: '1dd6',
        ref_block_hash: '994b2be7ad6ed753',
        expiration: 1783530798000,
        timestamp: 1783530738000,
      },
      raw_data_hex: rawHex,
    };
    expect(BigInt(Number(big))).not.toBe(big);
    const block = node.appendBlock([tx], []);
    const [t] = (await new TronWatcher(tron, transport).getBlockTransfers(block.block_header!.raw_data.number!)).transfers;
    expect(t!.amount).toBe(big);
  });
});

const bip32 = BIP32Factory(ecc);
const root = bip32.fromSeed(mnemonicToSeedSync(MNEMONIC));
const xpub = root.derivePath("m/44'/195'/0'").neutered().toBase58();

function keyAt(index: number): SigningKey {
  const node = root.derivePath(`m/44'/195'/0'/0/${index}`);
  return { privateKey: node.privateKey!, address: tronCodec.deriveAddress(tron, xpub, index).address };
}
const hotKey = () => keyAt(0);

function varint(n: bigint): Buffer {
  const out: number[] = [];
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80);
    n >>= 7n;
  }
  out.push(Number(n));
  return Buffer.from(out);
}
const pbVarint = (field: number, n: bigint) => Buffer.concat([varint(BigInt(field << 3)), varint(n)]);
const pbBytes = (field: number, bytes: Buffer) => Buffer.concat([varint(BigInt((field << 3) | 2)), varint(BigInt(bytes.length)), bytes]);

describe('TronSigner against the fake node', () => {
  let node: FakeTronNode;
  let transport: RpcTransport;
  let signer: TronSigner;
  const hot = hotKey();
  const customer = tronCodec.deriveAddress(tron, xpub, 1).address;
  const holder = 'TDii6vao7xyWg2rKPbCPWVRpSmne8xcqYx';

  beforeEach(async () => {
    ({ node, transport } = await startNode('mainnet'));
    signer = new TronSigner(tron, transport);
    node.fund(hot.address, 100_000_000n);
    node.setTokenBalance(USDT, hot.address, 100_000_000n);
    node.setTokenBalance(USDT, holder, 1n);
  });
  afterEach(() => node.close());

  it('signs TRX and USDT from a derived key; broadcasts are accepted; the next block holds both and the watcher finds them', async () => {
    expect(hot.address).toBe('TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH');
    const trx = await signer.sign(hot, [{ to: customer, coinId: 'tron:TRX', amount: 1_234_567n }]);
    const usdt = await signer.sign(hot, [{ to: holder, coinId: 'tron:USDT', amount: 2_500_000n }]);
    for (const s of [trx, usdt]) {
      const tx = JSON.parse(s.raw) as TronTransactionJson;
      expect(tx.txID).toBe(s.txHash);
      expect(sha256Hex(tx.raw_data_hex)).toBe(tx.txID);
      expect(recoverSigner(tx.txID, tx.signature![0]!)).toBe((tx.raw_data.contract[0]!.parameter.value as { owner_address: string }).owner_address);
      expect(s.raw).not.toContain(Buffer.from(hot.privateKey).toString('hex'));
    }
    const usdtTx = JSON.parse(usdt.raw) as TronTransactionJson;
    expect(usdtTx.raw_data.fee_limit).toBe(100_000_000);
    expect(usdtTx.raw_data.contract[0]!.type).toBe('TriggerSmartContract');

    expect(await signer.broadcast(trx)).toBe(trx.txHash);
    expect(await signer.broadcast(usdt)).toBe(usdt.txHash);
    // Idempotent: the node answers DUP_TRANSACTION_ERROR, which is success.
    expect(await signer.broadcast(trx)).toBe(trx.txHash);

    const watcher = new TronWatcher(tron, transport);
    expect(await watcher.getTransactionStatus(trx.txHash)).toEqual({ state: 'pending' });
    const block = node.mine();
    const height = await watcher.getTipHeight();
    expect(height).toBe(84286947);
    const ref = await watcher.getBlockRef(height);
    expect(ref!.parentHash).toBe(node.block(84286946)!.blockID);
    const found = await watcher.getBlockTransfers(height);
    expect(found.hash).toBe(block.blockID);
    expect(found.transfers).toEqual([
      {
        network: 'tron',
        txHash: trx.txHash,
        index: 0,
        from: hot.address,
        to: customer,
        coinId: 'tron:TRX',
        amount: 1_234_567n,
        blockHeight: height,
        blockHash: block.blockID,
      },
      {
        network: 'tron',
        txHash: usdt.txHash,
        index: 0,
        from: hot.address,
        to: holder,
        coinId: 'tron:USDT',
        amount: 2_500_000n,
        blockHeight: height,
        blockHash: block.blockID,
      },
    ]);
    expect(await watcher.getTransactionStatus(usdt.txHash)).toEqual({ state: 'confirmed', blockHeight: height, blockHash: block.blockID });
    expect(await watcher.getTransactionStatus('00'.repeat(32))).toEqual({ state: 'dropped' });
    // Re-broadcast of a mined transaction is still success.
    expect(await signer.broadcast(usdt)).toBe(usdt.txHash);
  });

  it('a tampered signature or amount is refused with SIGERROR', async () => {
    const s = await signer.sign(hot, [{ to: customer, coinId: 'tron:TRX', amount: 1_000_000n }]);
    const tx = JSON.parse(s.raw) as TronTransactionJson;
    const sig = tx.signature![0]!;
    const flipped = sig[10] === 'a' ? 'b' : 'a';
    const badSig: SignedTransaction = { ...s, raw: JSON.stringify({ ...tx, signature: [sig.slice(0, 10) + flipped + sig.slice(11)] }) };
    await expect(signer.broadcast(badSig)).rejects.toMatchObject({ name: 'ChainError', transient: false, message: expect.stringMatching(/SIGERROR/) });

    const other = keyAt(5);
    const { signature } = ecc.signRecoverable(Buffer.from(tx.txID, 'hex'), other.privateKey);
    const wrongKey: SignedTransaction = { ...s, raw: JSON.stringify({ ...tx, signature: [Buffer.from(signature).toString('hex') + '00'] }) };
    await expect(signer.broadcast(wrongKey)).rejects.toThrow(/SIGERROR.*not contained of permission|SIGERROR.*not a valid/);

    const value = tx.raw_data.contract[0]!.parameter.value as { amount: number };
    const moreMoney = structuredClone(tx);
    (moreMoney.raw_data.contract[0]!.parameter.value as { amount: number }).amount = value.amount * 10;
    await expect(signer.broadcast({ ...s, raw: JSON.stringify(moreMoney) })).rejects.toThrow(/SIGERROR/);

    await expect(signer.broadcast({ ...s, raw: JSON.stringify({ ...tx, signature: [] }) })).rejects.toThrow(
      /SIGERROR Validate signature error: miss sig or contract/,
    );
    expect(node.pendingIds()).toEqual([]);
    expect(await signer.broadcast(s)).toBe(s.txHash);
    expect(node.pendingIds()).toEqual([s.txHash]);
  });

  it('the real SIGERROR shape of the recorded response is what the fake answers', async () => {
    const recorded = readTronFixture<Record<string, string>>('chainlink-tron-shasta/broadcasttransactionfailure.json');
    const s = await signer.sign(hot, [{ to: customer, coinId: 'tron:TRX', amount: 1n }]);
    const answer = await transport.post<Record<string, string>>('/wallet/broadcasttransaction', { ...JSON.parse(s.raw), signature: [] });
    expect(Object.keys(answer).sort()).toEqual(Object.keys(recorded).sort());
    expect(answer.code).toBe('SIGERROR');
    expect(answer.message).toBe(recorded.message);
  });

  it('refuses a key that does not control the address, several orders, and bad orders', async () => {
    await expect(signer.sign({ privateKey: keyAt(2).privateKey, address: hot.address }, [{ to: customer, coinId: 'tron:TRX', amount: 1n }])).rejects.toThrow(
      /does not control/,
    );
    const orders = [
      { to: customer, coinId: 'tron:TRX', amount: 1n },
      { to: holder, coinId: 'tron:TRX', amount: 2n },
    ];
    await expect(signer.sign(hot, orders)).rejects.toThrow(/sign one order per transaction \(got 2 orders\)/);
    await expect(signer.sign(hot, [])).rejects.toThrow(/one order per transaction/);
    await expect(signer.sign(hot, [{ to: '41a614f803b6fd780986a42c78ec9c7f77e6ded13c', coinId: 'tron:TRX', amount: 1n }])).rejects.toThrow(
      /recipient.*hex address/,
    );
    await expect(signer.sign(hot, [{ to: customer, coinId: 'ethereum:ETH', amount: 1n }])).rejects.toThrow(/not on network/);
    await expect(signer.sign(hot, [{ to: customer, coinId: 'tron:TRX', amount: 0n }])).rejects.toThrow(/positive/);
    await expect(signer.sign(hot, [{ to: hot.address, coinId: 'tron:TRX', amount: 1n }])).rejects.toThrow(/itself/);
  });

  it('an unfunded USDT transfer is mined with a REVERT receipt and yields no transfer', async () => {
    const s = await signer.sign(hot, [{ to: holder, coinId: 'tron:USDT', amount: 500_000_000n }]);
    expect(s.fee.detail.energySource).toBe('default-holder');
    await signer.broadcast(s);
    const block = node.mine();
    expect(block.transactions![0]!.ret).toEqual([{ contractRet: 'REVERT' }]);
    const watcher = new TronWatcher(tron, transport);
    expect((await watcher.getBlockTransfers(block.block_header!.raw_data.number!)).transfers).toEqual([]);
    expect(await watcher.getTransactionStatus(s.txHash)).toMatchObject({ state: 'confirmed' });
  });

  it('an expired or foreign-chain transaction is refused, not retried', async () => {
    const expired = new TronSigner(tron, transport, { expirationMs: 0 });
    const s = await expired.sign(hot, [{ to: customer, coinId: 'tron:TRX', amount: 1n }]);
    await expect(expired.broadcast(s)).rejects.toMatchObject({ transient: false, message: expect.stringMatching(/TRANSACTION_EXPIRATION_ERROR/) });
    const { node: shastaNode, transport: shastaTransport } = await startNode('shasta');
    try {
      shastaNode.fund(hot.address, 10_000_000n);
      const ok = await signer.sign(hot, [{ to: customer, coinId: 'tron:TRX', amount: 1n }]);
      await expect(new TronSigner(tron, shastaTransport).broadcast(ok)).rejects.toThrow(/TAPOS_ERROR/);
    } finally {
      await shastaNode.close();
    }
  });

  describe('estimateFee', () => {
    it('burns bandwidth when no free or staked bandwidth is left, and the size matches the signed transaction', async () => {
      node.setAccountResource(hot.address, { freeNetLimit: 600, freeNetUsed: 600 });
      node.fund(customer, 1n);
      const quote = await signer.estimateFee(hot.address, [{ to: customer, coinId: 'tron:TRX', amount: 1_234_567n }]);
      const signed = await signer.sign(hot, [{ to: customer, coinId: 'tron:TRX', amount: 1_234_567n }]);
      const bytes = bandwidthBytes((JSON.parse(signed.raw) as TronTransactionJson).raw_data_hex.length / 2, 1);
      expect(Number(quote.detail.bandwidth)).toBe(bytes);
      expect(bytes).toBeGreaterThan(250);
      expect(bytes).toBeLessThan(280);
      expect(quote.fee).toBe(BigInt(bytes) * 1000n);
      expect(quote.fee).toBeGreaterThan(0n);
      expect(signed.fee.fee).toBe(quote.fee);
      expect(quote.detail).toMatchObject({ bandwidthFee: String(bytes * 1000), energy: '0', energyFee: '0', activationFee: '0', bandwidthPrice: '1000' });
    });

    it('charges no bandwidth fee when free bandwidth covers it, nor when staked bandwidth does', async () => {
      node.fund(customer, 1n);
      node.setAccountResource(hot.address, { freeNetLimit: 600, freeNetUsed: 100 });
      const free = await signer.estimateFee(hot.address, [{ to: customer, coinId: 'tron:TRX', amount: 1n }]);
      expect(free.fee).toBe(0n);
      expect(free.detail.bandwidthFee).toBe('0');
      node.setAccountResource(hot.address, { freeNetLimit: 600, freeNetUsed: 600, NetLimit: 5_000, NetUsed: 10 });
      expect((await signer.estimateFee(hot.address, [{ to: customer, coinId: 'tron:TRX', amount: 1n }])).fee).toBe(0n);
    });

    it('free bandwidth is all-or-nothing per transaction: several orders use it up one by one', async () => {
      node.fund(customer, 1n);
      node.setAccountResource(hot.address, { freeNetLimit: 600, freeNetUsed: 0 });
      const order = { to: customer, coinId: 'tron:TRX', amount: 1n };
      const two = await signer.estimateFee(hot.address, [order, order]);
      expect(two.fee).toBe(0n);
      const three = await signer.estimateFee(hot.address, [order, order, order]);
      expect(three.fee).toBe((BigInt(three.detail.bandwidth!) / 3n) * 1000n);
      expect(three.detail.transactions).toBe('3');
    });

    it('activating a new account costs what the recorded receipt shows (1 TRX + 0.1 TRX)', async () => {
      const recorded = readTronFixture<TronTxInfoJson>('chainlink-tron-shasta/gettransactioninfobyid.json');
      const quote = await signer.estimateFee(hot.address, [{ to: customer, coinId: 'tron:TRX', amount: 1n }]);
      expect(quote.fee).toBe(BigInt(recorded.fee!));
      expect(quote.detail).toMatchObject({ activationFee: '1000000', bandwidthFee: String(recorded.receipt!.net_fee) });
    });

    it('USDT: simulated energy at the chain price matches the recorded mainnet energy fee; staked energy is used first', async () => {
      const recorded = capture('09ced').info.receipt!;
      node.setAccountResource(hot.address, { freeNetLimit: 600, freeNetUsed: 0 });
      const toNew = await signer.estimateFee(hot.address, [{ to: customer, coinId: 'tron:USDT', amount: 2_000_000n }]);
      expect(toNew.detail).toMatchObject({ energy: String(recorded.energy_usage_total), energySource: 'simulated', bandwidthFee: '0', feeLimit: '100000000' });
      expect(toNew.fee).toBe(BigInt(recorded.energy_fee!));
      const toHolder = await signer.estimateFee(hot.address, [{ to: holder, coinId: 'tron:USDT', amount: 2_000_000n }]);
      expect(toHolder.detail.energy).toBe('64285');
      expect(toHolder.fee).toBe(6_428_500n);
      node.setAccountResource(hot.address, { freeNetLimit: 600, freeNetUsed: 0, EnergyLimit: 100_000 });
      expect((await signer.estimateFee(hot.address, [{ to: customer, coinId: 'tron:USDT', amount: 2_000_000n }])).fee).toBe(BigInt(130_285 - 100_000) * 100n);
    });

    it('falls back to the documented defaults when the node cannot simulate, and follows the chain energy price', async () => {
      const { node: n2, transport: t2 } = await startNode('mainnet', { chainParameters: { getEnergyFee: 210 } });
      try {
        n2.setAccountResource(hot.address, { freeNetLimit: 600 });
        n2.setTokenBalance(USDT, holder, 5n);
        n2.setSimulationReverts(true);
        const s2 = new TronSigner(tron, t2);
        const toHolder = await s2.estimateFee(hot.address, [{ to: holder, coinId: 'tron:USDT', amount: 1n }]);
        expect(toHolder.detail).toMatchObject({ energySource: 'default-holder', energy: '64285', energyPrice: '210' });
        expect(toHolder.fee).toBe(64_285n * 210n);
        const toNew = await s2.estimateFee(hot.address, [{ to: customer, coinId: 'tron:USDT', amount: 1n }]);
        expect(toNew.detail).toMatchObject({ energySource: 'default-new-holder', energy: '130285' });
      } finally {
        await n2.close();
      }
    });

    it('refuses to sign a USDT transfer whose energy would exceed the fee limit', async () => {
      const tight = new TronSigner(tron, transport, { feeLimitSun: 1_000_000n });
      await expect(tight.sign(hot, [{ to: customer, coinId: 'tron:USDT', amount: 1n }])).rejects.toThrow(/above the fee limit/);
    });
  });
});

describe('FakeTronNode answers in the recorded shapes', () => {
  it('assembled blocks and receipts use the keys of the recorded ones', async () => {
    const { node, transport } = await startNode('mainnet');
    try {
      const hot = hotKey();
      node.fund(hot.address, 10_000_000n);
      node.setTokenBalance(USDT, hot.address, 10n);
      const signer = new TronSigner(tron, transport);
      await signer.broadcast(await signer.sign(hot, [{ to: USDT, coinId: 'tron:USDT', amount: 10n }]));
      const block = node.mine();
      const recordedBlock = readTronFixture<TronBlockJson>('chainlink-tron-shasta/getnowblock.json');
      const keys = (o: object) => Object.keys(o).sort();
      expect(keys(block)).toEqual(keys(recordedBlock));
      expect(keys(block.block_header!.raw_data)).toEqual(keys(recordedBlock.block_header!.raw_data));
      expect(keys(block.transactions![0]!)).toEqual(keys(recordedBlock.transactions![3]!));
      expect(keys(block.transactions![0]!.raw_data)).toEqual(keys(recordedBlock.transactions![3]!.raw_data));
      const info = await transport.post<TronTxInfoJson>('/wallet/gettransactioninfobyid', { value: block.transactions![0]!.txID });
      const recordedInfo = capture('09ced').info;
      expect(keys(info).every((k) => k in recordedInfo)).toBe(true);
      expect(keys(info.receipt!).every((k) => k in recordedInfo.receipt! || k === 'energy_fee')).toBe(true);
      expect(keys(info.log![0]!)).toEqual(keys(recordedInfo.log![0]!));
    } finally {
      await node.close();
    }
  });

  it('unknown objects answer {} and unknown paths 404', async () => {
    const { node, transport } = await startNode('shasta');
    try {
      expect(await transport.post('/wallet/getblockbynum', { num: 5 })).toEqual(readTronFixture('chainlink-tron-shasta/emptyresponse.json'));
      await expect(transport.post('/wallet/nosuchthing', {})).rejects.toBeInstanceOf(ChainError);
      await expect(transport.post('/wallet/nosuchthing', {})).rejects.toThrow(/404/);
    } finally {
      await node.close();
    }
  });
});
