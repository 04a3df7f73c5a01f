import { getNetwork } from '../networks';
import { ChainError, type RpcTransport } from '../types';
import { NATIVE_TRANSFER_GAS, TOKEN_TRANSFER_GAS, gasQuote, readEvmFees, roughGas, tipFloorOf } from './fees';

const GWEI = 1_000_000_000n;
const devEvm = getNetwork('dev-evm');

function node(answers: Record<string, unknown>): Pick<RpcTransport, 'call'> & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async call<T>(method: string): Promise<T> {
      calls.push(method);
      const a = answers[method];
      if (a instanceof Error) throw a;
      if (a === undefined) throw new ChainError(`${method}: not answered`, false);
      return a as T;
    },
  };
}

describe('readEvmFees', () => {
  it('takes the next base fee from eth_feeHistory and the median tip of the non-empty blocks', async () => {
    const fees = await readEvmFees(
      devEvm,
      node({
        eth_feeHistory: {
          baseFeePerGas: ['0x1', '0x2', '0x3', '0x' + (10n * GWEI).toString(16)],
          gasUsedRatio: [0.5, 0, 0.4],
          reward: [['0x' + (2n * GWEI).toString(16)], ['0x0'], ['0x' + (4n * GWEI).toString(16)]],
        },
      }),
    );
    expect(fees.baseFeePerGas).toBe(10n * GWEI);
    expect(fees.maxPriorityFeePerGas).toBe(4n * GWEI);
    expect(fees.maxFeePerGas).toBe(24n * GWEI);
  });

  it('falls back to the latest block and eth_maxPriorityFeePerGas, and never offers less than the floor', async () => {
    const transport = node({
      eth_feeHistory: new ChainError('method not found', false),
      eth_getBlockByNumber: { baseFeePerGas: '0x64' },
      eth_maxPriorityFeePerGas: '0x0',
    });
    const fees = await readEvmFees(devEvm, transport);
    expect(transport.calls).toEqual(['eth_feeHistory', 'eth_getBlockByNumber', 'eth_maxPriorityFeePerGas']);
    expect(fees.baseFeePerGas).toBe(100n);
    expect(fees.maxPriorityFeePerGas).toBe(tipFloorOf(devEvm));
    expect((await readEvmFees(devEvm, transport, { minPriorityFeePerGas: 7n })).maxPriorityFeePerGas).toBe(7n);
  });

  it('throws a transient failure on instead of guessing', async () => {
    await expect(readEvmFees(devEvm, node({ eth_feeHistory: new ChainError('timeout', true) }))).rejects.toThrow('timeout');
  });
});

describe('gas quotes', () => {
  it('quotes the gas limit at the max fee, with what it costs at today’s base fee', () => {
    const q = gasQuote(21_000n, { baseFeePerGas: 10n, maxPriorityFeePerGas: 2n, maxFeePerGas: 22n });
    expect(q.fee).toBe(21_000n * 22n);
    expect(q.detail.expectedFee).toBe(String(21_000n * 12n));
  });

  it('uses the same transfer gas for sweeps and for unsimulated withdrawals', () => {
    expect(roughGas('native', 1)).toBe(NATIVE_TRANSFER_GAS);
    expect(roughGas('token', 1)).toBe(TOKEN_TRANSFER_GAS);
    expect(roughGas('batch-token', 3)).toBe(45_000n + 120_000n);
  });
});
