import { getAddress } from 'ethers';
import { getNetwork } from '../networks';
import { ChainError } from '../types';
import {
  extractBlockTransfers,
  internalTransfersFromCallFrame,
  internalTransfersFromCallTraces,
  internalTransfersFromParityTraces,
  INTERNAL_INDEX_BASE,
} from './extract';
import block from '../../../fixtures/evm/eth_mainnet_eth_getBlockByNumber_17053184_full_tx.json';
import usdcReceipt from '../../../fixtures/evm/eth_mainnet_eth_getTransactionReceipt_0x8dc34977c542c05417961e4c47e6318bbe24c76f09b7e99ce8f639e5162d4808_USDC_transfer.json';
import usdtReceipt from '../../../fixtures/evm/eth_mainnet_eth_getTransactionReceipt_0xa7dd69b26195de7ab54139820a2658aec834dd475882395fdbe9f7c3076aec62_USDT_transfer.json';
import type { CallFrame, ParityTrace, RawBlock, RawReceipt } from './raw';

const ethereum = getNetwork('ethereum', {});
const BLOCK_HASH = '0x79ffaa2840f06eee8f41c61670b132382a988612b25b9a7deca0bea0691db491';
const fullBlock = block as RawBlock;
const recorded = [usdtReceipt, usdcReceipt] as RawReceipt[];

/** The recorded block cut down to the two transactions whose receipts were recorded. */
function recordedPart(): RawBlock {
  const hashes = new Set(recorded.map((r) => r.transactionHash));
  return { ...fullBlock, transactions: fullBlock.transactions.filter((t) => hashes.has(t.hash)) };
}

/**
 * Minimal successful receipts without logs for the transactions whose receipts were not
 * recorded, so the whole block can be read (native transfers need only the status).
 */
function withStubReceipts(receipts: RawReceipt[]): RawReceipt[] {
  const have = new Set(receipts.map((r) => r.transactionHash));
  const stubs = fullBlock.transactions
    .filter((t) => !have.has(t.hash))
    .map((t) => ({
      transactionHash: t.hash,
      blockHash: fullBlock.hash,
      blockNumber: fullBlock.number,
      status: '0x1',
      from: t.from,
      to: t.to,
      contractAddress: null,
      gasUsed: '0x5208',
      logs: [],
    }));
  return [...receipts, ...stubs];
}

describe('extractBlockTransfers on recorded mainnet block 17053184', () => {
  it('finds the USDT and the USDC transfer with their amounts, parties and log indexes', () => {
    const result = extractBlockTransfers(ethereum, { block: recordedPart(), receipts: recorded });
    expect(result).toEqual({
      height: 17053184,
      hash: BLOCK_HASH,
      parentHash: '0x9b0703bdc0ba555c61161ae096a526c34299c6d71bc9fc7cb56970e46600eb87',
      timestamp: 1681571243,
      transfers: [
        {
          network: 'ethereum',
          txHash: '0xa7dd69b26195de7ab54139820a2658aec834dd475882395fdbe9f7c3076aec62',
          index: 77,
          from: '0x5041ed759Dd4aFc3a72b8192C143F72f4724081A',
          to: '0xC5B49a6FE10B1b532dC81788C745E57FDbDC5972',
          coinId: 'ethereum:USDT',
          amount: 96_191_360n, // 96.19136 USDT
          blockHeight: 17053184,
          blockHash: BLOCK_HASH,
        },
        {
          network: 'ethereum',
          txHash: '0x8dc34977c542c05417961e4c47e6318bbe24c76f09b7e99ce8f639e5162d4808',
          index: 108,
          from: '0x9CdA5Ef0618332F6545DC72155D99BA69CC6db0a',
          to: '0x1A3429C219a324D82406E5Bf867efa77FF58c94F',
          coinId: 'ethereum:USDC',
          amount: 5_500_000_000n, // 5500 USDC
          blockHeight: 17053184,
          blockHash: BLOCK_HASH,
        },
      ],
    });
  });

  it('ignores the same logs when their contracts are not registered', () => {
    const noTokens = { ...ethereum, coins: [ethereum.nativeCoin] };
    expect(extractBlockTransfers(noTokens, { block: recordedPart(), receipts: recorded }).transfers).toEqual([]);
  });

  it('credits nothing from a reverted transaction', () => {
    const failed = recorded.map((r) => ({ ...r, status: '0x0' }));
    expect(extractBlockTransfers(ethereum, { block: recordedPart(), receipts: failed }).transfers).toEqual([]);
  });

  it('reads every native transfer of the whole block (value > 0, index INTERNAL_INDEX_BASE, checksummed)', () => {
    const { transfers } = extractBlockTransfers(ethereum, { block: fullBlock, receipts: withStubReceipts(recorded) });
    const native = transfers.filter((t) => t.coinId === 'ethereum:ETH');
    expect(native).toHaveLength(65);
    expect(native.reduce((sum, t) => sum + t.amount, 0n)).toBe(19_397_483_640_040_465_042n);
    expect(native[0]).toEqual({
      network: 'ethereum',
      txHash: '0xe8f0325799cb473a68f166dfd9cdfea778efa774992b04e467cdfdf4092233e4',
      index: INTERNAL_INDEX_BASE,
      from: '0x0A14c559688E702d65928472396DC9AE2bAA4072',
      to: '0x881D40237659C251811CEC9c364ef91dC08D300C',
      coinId: 'ethereum:ETH',
      amount: 20_000_000_000_000_000n,
      blockHeight: 17053184,
      blockHash: BLOCK_HASH,
    });
    expect(native.every((t) => t.index === INTERNAL_INDEX_BASE && t.from === getAddress(t.from!) && t.to === getAddress(t.to))).toBe(true);
    expect(transfers.filter((t) => t.coinId !== 'ethereum:ETH').map((t) => t.coinId)).toEqual(['ethereum:USDT', 'ethereum:USDC']);
  });

  it('never gives two transfers of one transaction the same index, whatever their coins (native indexes start at INTERNAL_INDEX_BASE)', () => {
    const { transfers } = extractBlockTransfers(ethereum, { block: fullBlock, receipts: withStubReceipts(recorded) });
    const keys = transfers.map((t) => `${t.txHash}:${t.index}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(transfers.filter((t) => t.coinId !== 'ethereum:ETH').every((t) => t.index < INTERNAL_INDEX_BASE)).toBe(true);
  });

  it('refuses to mix a block with receipts of another block, or a block missing a receipt (transient)', () => {
    const foreign = recorded.map((r) => ({ ...r, blockHash: `0x${'ab'.repeat(32)}` }));
    expect(() => extractBlockTransfers(ethereum, { block: recordedPart(), receipts: foreign })).toThrow(/reorg while reading/);
    try {
      extractBlockTransfers(ethereum, { block: fullBlock, receipts: recorded });
      throw new Error('expected a throw');
    } catch (err) {
      expect(err).toBeInstanceOf(ChainError);
      expect((err as ChainError).transient).toBe(true);
    }
  });

  it('skips zero-amount token transfers and ERC-721-shaped logs of a registered contract', () => {
    const log = usdtReceipt.logs[0]!;
    const zero = { ...usdtReceipt, logs: [{ ...log, data: `0x${'0'.repeat(64)}` }] };
    const nft = { ...usdtReceipt, logs: [{ ...log, topics: [...log.topics, `0x${'0'.repeat(63)}1`], data: '0x' }] };
    const part = recordedPart();
    expect(extractBlockTransfers(ethereum, { block: part, receipts: [zero, usdcReceipt] as RawReceipt[] }).transfers.map((t) => t.coinId)).toEqual([
      'ethereum:USDC',
    ]);
    expect(extractBlockTransfers(ethereum, { block: part, receipts: [nft, usdcReceipt] as RawReceipt[] }).transfers.map((t) => t.coinId)).toEqual([
      'ethereum:USDC',
    ]);
  });
});

describe('internal transfers', () => {
  const A = '0x1111111111111111111111111111111111111111';
  const B = '0x2222222222222222222222222222222222222222';
  const C = '0x3333333333333333333333333333333333333333';
  const D = '0x4444444444444444444444444444444444444444';
  // top (0) -> B reverted (1) -> C inside the reverted frame (2); top -> delegatecall (3);
  // top -> D (4) -> C (5); top -> static (6)
  const tree: CallFrame = {
    type: 'CALL',
    from: A,
    to: B,
    value: '0x64',
    calls: [
      { type: 'CALL', from: B, to: B, value: '0x32', error: 'execution reverted', calls: [{ type: 'CALL', from: B, to: C, value: '0x32' }] },
      { type: 'DELEGATECALL', from: B, to: C, value: '0x64' },
      { type: 'CALL', from: B, to: D, value: '0x1e', calls: [{ type: 'CALL', from: D, to: C, value: '0xa' }] },
      { type: 'STATICCALL', from: B, to: C },
    ],
  };

  it('keeps value-carrying calls below the top level, at their pre-order position, skipping reverted subtrees', () => {
    expect(internalTransfersFromCallFrame(tree)).toEqual([
      { position: 4, from: B, to: D, amount: 30n },
      { position: 5, from: D, to: C, amount: 10n },
    ]);
    expect(internalTransfersFromCallFrame({ ...tree, error: 'out of gas' })).toEqual([]);
  });

  it('gives the same positions from trace_block (Parity format) as from callTracer', () => {
    const tx = `0x${'aa'.repeat(32)}`;
    const t = (traceAddress: number[], action: ParityTrace['action'], error?: string): ParityTrace => ({
      type: 'call',
      action,
      traceAddress,
      transactionHash: tx,
      transactionPosition: 0,
      ...(error ? { error } : {}),
    });
    const parity: ParityTrace[] = [
      t([], { callType: 'call', from: A, to: B, value: '0x64' }),
      t([0], { callType: 'call', from: B, to: B, value: '0x32' }, 'Reverted'),
      t([0, 0], { callType: 'call', from: B, to: C, value: '0x32' }),
      t([1], { callType: 'delegatecall', from: B, to: C, value: '0x64' }),
      t([2], { callType: 'call', from: B, to: D, value: '0x1e' }),
      t([2, 0], { callType: 'call', from: D, to: C, value: '0xa' }),
      t([3], { callType: 'staticcall', from: B, to: C, value: '0x0' }),
    ];
    expect(internalTransfersFromParityTraces(parity).get(tx)).toEqual(internalTransfersFromCallFrame(tree));
  });

  it('turns into transfers indexed from INTERNAL_INDEX_BASE, only for successful transactions', () => {
    const part = recordedPart();
    const [usdtTx] = part.transactions;
    const traces = part.transactions.map((t) => ({ txHash: t.hash, result: t.hash === usdtTx!.hash ? tree : { type: 'CALL', from: A, to: B } }));
    const internal = internalTransfersFromCallTraces(part, traces);
    const { transfers } = extractBlockTransfers(ethereum, { block: part, receipts: recorded, internal });
    expect(transfers.filter((t) => t.coinId === 'ethereum:ETH').map((t) => [t.txHash, t.index, t.to, t.amount])).toEqual([
      [usdtTx!.hash, INTERNAL_INDEX_BASE + 4, D, 30n],
      [usdtTx!.hash, INTERNAL_INDEX_BASE + 5, C, 10n],
    ]);
    const failed = recorded.map((r) => ({ ...r, status: '0x0' }));
    expect(extractBlockTransfers(ethereum, { block: part, receipts: failed, internal }).transfers).toEqual([]);
  });

  it('refuses traces that do not line up with the block', () => {
    const part = recordedPart();
    expect(() => internalTransfersFromCallTraces(part, [])).toThrow(/traces for/);
    const swapped = [...part.transactions].reverse().map((t) => ({ txHash: t.hash, result: tree }));
    expect(() => internalTransfersFromCallTraces(part, swapped)).toThrow(/expected/);
  });
});
