import { AppError } from '@cpg/core/graphql';
import { DEFAULT_SETTINGS, applySettingsPatch, validateKeyLabel, validateMerchantName } from './settings';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? err.code : 'not an AppError';
  }
  return undefined;
}

describe('applySettingsPatch', () => {
  it('keeps every value when the patch is empty or all null', () => {
    expect(applySettingsPatch(DEFAULT_SETTINGS, {})).toEqual(DEFAULT_SETTINGS);
    expect(applySettingsPatch(DEFAULT_SETTINGS, { batchMaxSize: null, addressMode: null })).toEqual(DEFAULT_SETTINGS);
  });

  it('changes only the fields given', () => {
    const next = applySettingsPatch(DEFAULT_SETTINGS, { addressMode: 'CROSS', batchMaxSize: 10, underpaymentTolerance: '0.005' });
    expect(next).toEqual({ ...DEFAULT_SETTINGS, addressMode: 'CROSS', batchMaxSize: 10, underpaymentTolerance: '0.005' });
  });

  it('does not mutate its input', () => {
    const current = { ...DEFAULT_SETTINGS };
    applySettingsPatch(current, { batchMaxSize: 7 });
    expect(current).toEqual(DEFAULT_SETTINGS);
  });

  it.each([
    [{ batchMaxSize: 0 }],
    [{ batchMaxSize: 1001 }],
    [{ batchMaxSize: 1.5 }],
    [{ batchMaxWaitSeconds: -1 }],
    [{ batchMaxWaitSeconds: 86_401 }],
    [{ paymentExpiryMinutes: 0 }],
    [{ paymentExpiryMinutes: 10_081 }],
    [{ underpaymentTolerance: '0.2' }],
    [{ underpaymentTolerance: '-0.1' }],
    [{ underpaymentTolerance: '1e-3' }],
    [{ underpaymentTolerance: '0.0000001' }],
    [{ underpaymentTolerance: 'abc' }],
    [{ addressMode: 'POOLED' as never }],
    [{ withdrawalAggregation: 'LATER' as never }],
  ])('rejects %p with BAD_USER_INPUT', (patch) => {
    expect(codeOf(() => applySettingsPatch(DEFAULT_SETTINGS, patch))).toBe('BAD_USER_INPUT');
  });

  it.each([['0'], ['0.1'], ['0.000001'], ['0.05']])('accepts tolerance %p', (t) => {
    expect(applySettingsPatch(DEFAULT_SETTINGS, { underpaymentTolerance: t }).underpaymentTolerance).toBe(t);
  });

  it('accepts the bounds', () => {
    const next = applySettingsPatch(DEFAULT_SETTINGS, { batchMaxSize: 1000, batchMaxWaitSeconds: 0, paymentExpiryMinutes: 10_080 });
    expect([next.batchMaxSize, next.batchMaxWaitSeconds, next.paymentExpiryMinutes]).toEqual([1000, 0, 10_080]);
  });
});

describe('names and labels', () => {
  it('trims and bounds merchant names', () => {
    expect(validateMerchantName('  Shop ')).toBe('Shop');
    expect(codeOf(() => validateMerchantName('   '))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => validateMerchantName('x'.repeat(201)))).toBe('BAD_USER_INPUT');
  });
  it('bounds key labels', () => {
    expect(validateKeyLabel('ci')).toBe('ci');
    expect(codeOf(() => validateKeyLabel(''))).toBe('BAD_USER_INPUT');
    expect(codeOf(() => validateKeyLabel('x'.repeat(101)))).toBe('BAD_USER_INPUT');
  });
});
