import { fundHint } from './shortfall';

const USDT = { symbol: 'USDT', decimals: 6 };
const ETH = { symbol: 'ETH', decimals: 18 };

describe('what a HOT wallet lacks, in whole coins', () => {
  it('names each short part with its amount and purpose, and the address to fund', () => {
    expect(
      fundHint('0xHOT', [
        { coin: USDT, missing: 12_500_000n, purpose: 'to pay' },
        { coin: ETH, missing: 130_000_000_000_000n, purpose: 'for gas' },
      ]),
    ).toBe('; short by 12.5 USDT to pay and 0.00013 ETH for gas: send that to the HOT wallet 0xHOT');
  });

  it('leaves out what is not short', () => {
    expect(
      fundHint('0xHOT', [
        { coin: USDT, missing: 0n, purpose: 'to pay' },
        { coin: ETH, missing: 1n, purpose: 'for gas' },
      ]),
    ).toBe('; short by 0.000000000000000001 ETH for gas: send that to the HOT wallet 0xHOT');
    expect(fundHint('0xHOT', [{ coin: USDT, missing: -5n, purpose: 'to pay' }])).toBe('');
  });
});
