import { ChainError, type RpcTransport } from '../types';
import { bandwidthBurn, mergeQuotes, quoteTronTransaction, readDelegatableEnergySun, readTronPrices, readTronResources, sunForEnergy } from './fees';

function node(answers: Record<string, unknown>): Pick<RpcTransport, 'post'> {
  return {
    async post<T>(path: string): Promise<T> {
      const a = answers[path];
      if (a instanceof Error) throw a;
      return (a ?? {}) as T;
    },
  };
}

const PRICES = { txFee: 1_000, energyFee: 100, createAccountFee: 100_000, newAccountFee: 1_000_000, freeNetPerDay: 600 };
const resources = (over: Partial<{ freeNet: number; stakedNet: number; energy: number }> = {}) => ({
  freeNet: 0,
  stakedNet: 0,
  energy: 0,
  totalEnergyLimit: 0,
  totalEnergyWeight: 0,
  ...over,
});

describe('Tron prices and resources', () => {
  it('reads the chain parameters, with mainnet defaults for the missing ones (a value of 0 is omitted by the node)', async () => {
    const prices = await readTronPrices(
      node({ '/wallet/getchainparameters': { chainParameter: [{ key: 'getEnergyFee', value: 210 }, { key: 'getTransactionFee' }] } }),
    );
    expect(prices).toEqual({ txFee: 0, energyFee: 210, createAccountFee: 100_000, newAccountFee: 1_000_000, freeNetPerDay: 600 });
  });

  it('gives what is left of each resource, never below zero', async () => {
    const r = await readTronResources(
      node({
        '/wallet/getaccountresource': { freeNetLimit: 600, freeNetUsed: 700, EnergyLimit: 50, EnergyUsed: 20, TotalEnergyLimit: 9, TotalEnergyWeight: 3 },
      }),
      '41aa',
    );
    expect(r).toEqual({ freeNet: 0, stakedNet: 0, energy: 30, totalEnergyLimit: 9, totalEnergyWeight: 3 });
  });

  it('delegates nothing from a node without getcandelegatedmaxsize', async () => {
    const missing = new ChainError('unavailable', true, { kind: 'http', status: 404 });
    expect(await readDelegatableEnergySun(node({ '/wallet/getcandelegatedmaxsize': missing }), '41aa')).toBe(0n);
    expect(await readDelegatableEnergySun(node({ '/wallet/getcandelegatedmaxsize': { max_size: 5_000_000 } }), '41aa')).toBe(5_000_000n);
  });

  it('stakes whole TRX for energy, at least one', () => {
    expect(sunForEnergy(0n, { numerator: 3n, denominator: 1n })).toBe(0n);
    expect(sunForEnergy(1n, { numerator: 3n, denominator: 1n })).toBe(2_000_000n);
  });
});

describe('quoteTronTransaction', () => {
  it('a TRX transfer creating the recipient pays the activation fees instead of bandwidth', async () => {
    const q = await quoteTronTransaction(node({ '/wallet/getaccount': {} }), {
      toHex: '41bb',
      bytes: 266,
      prices: PRICES,
      left: resources({ freeNet: 600 }),
      token: null,
    });
    expect(q.fee).toBe(1_100_000n);
    expect(q.detail.activationFee).toBe('1000000');
  });

  it('free bandwidth is used by whole transactions, then bytes are burnt', async () => {
    const left = resources({ freeNet: 300 });
    const transport = node({ '/wallet/getaccount': { address: '41bb' } });
    const first = await quoteTronTransaction(transport, { toHex: '41bb', bytes: 266, prices: PRICES, left, token: null });
    const second = await quoteTronTransaction(transport, { toHex: '41bb', bytes: 266, prices: PRICES, left, token: null });
    expect(first.fee).toBe(0n);
    expect(second.fee).toBe(266_000n);
    expect(mergeQuotes(first, second).detail.transactions).toBe('2');
    expect(bandwidthBurn(266, { stakedNet: 0, freeNet: 34 }, PRICES)).toBe(266_000);
  });

  it('a token transfer burns the energy its stake does not cover', async () => {
    const q = await quoteTronTransaction(node({}), {
      toHex: '41bb',
      bytes: 345,
      prices: PRICES,
      left: resources({ freeNet: 600, energy: 30_000 }),
      token: { energy: async () => ({ energy: 64_285, source: 'simulated' }), feeLimitSun: 100_000_000n },
    });
    expect(q.fee).toBe(BigInt((64_285 - 30_000) * 100));
    expect(q.detail).toMatchObject({ energySource: 'simulated', feeLimit: '100000000', bandwidthFee: '0' });
  });
});
