import { defaultRefund } from './refund';

describe('defaultRefund', () => {
  it('refunds the overpaid part, else everything confirmed', () => {
    expect(defaultRefund({ amount: 100n, amountConfirmed: 130n })).toBe(30n);
    expect(defaultRefund({ amount: 100n, amountConfirmed: 100n })).toBe(100n);
    expect(defaultRefund({ amount: 100n, amountConfirmed: 40n })).toBe(40n);
    expect(defaultRefund({ amount: null, amountConfirmed: 7n })).toBe(7n);
  });
  it('refuses a payment with nothing confirmed', () => {
    expect(() => defaultRefund({ amount: 100n, amountConfirmed: 0n })).toThrow(/nothing confirmed/);
  });
});
