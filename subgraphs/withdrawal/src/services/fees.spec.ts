import { getNetwork } from '@cpg/chains';
import { ChainFeeEstimator, StaticFeeEstimator, staticFee } from './fees';

const evm = getNetwork('dev-evm');
const ltc = getNetwork('dev-ltc');
const coin = (network: typeof evm, symbol: string) => network.coins.find((c) => c.symbol === symbol)!;

/** A node that answers the given methods and is unreachable for the rest (no network in a spec). */
function node(answers: Record<string, unknown>) {
  return () => ({
    call: async <T>(method: string): Promise<T> => {
      if (!(method in answers)) throw new Error('connection refused');
      return answers[method] as T;
    },
  });
}

describe('fee estimates', () => {
  it('asks an EVM chain for its gas price, priced per transfer kind, in the native coin', async () => {
    const est = new ChainFeeEstimator(node({ eth_gasPrice: '0x3b9aca00' })); // 1 gwei
    expect(await est.estimate(evm, coin(evm, 'ETH'))).toEqual({ fee: 21_000n * 10n ** 9n, feeCoin: evm.nativeCoin });
    expect(await est.estimate(evm, coin(evm, 'USDT'))).toEqual({ fee: 65_000n * 10n ** 9n, feeCoin: evm.nativeCoin });
  });

  it('asks a Bitcoin-family chain for its fee rate', async () => {
    const est = new ChainFeeEstimator(node({ estimatesmartfee: { feerate: 0.0002 } })); // 20 sat/vB
    expect(await est.estimate(ltc, coin(ltc, 'LTC'))).toEqual({ fee: 2820n, feeCoin: ltc.nativeCoin });
  });

  it('falls back to the static table when the chain cannot say', async () => {
    const down = new ChainFeeEstimator(node({}));
    expect(await down.estimate(evm, coin(evm, 'USDT'))).toEqual({ fee: staticFee('EVM', true), feeCoin: evm.nativeCoin });
    const regtest = new ChainFeeEstimator(node({ estimatesmartfee: { errors: ['Insufficient data'] } }));
    expect(await regtest.estimate(ltc, coin(ltc, 'LTC'))).toEqual({ fee: staticFee('BITCOIN', false), feeCoin: ltc.nativeCoin });
    expect(await new StaticFeeEstimator().estimate(evm, coin(evm, 'ETH'))).toEqual({ fee: 420_000_000_000_000n, feeCoin: evm.nativeCoin });
  });
});
