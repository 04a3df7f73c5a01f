import { ConfigError } from '@cpg/core/config';
import { loadWithdrawalConfig } from './config';

describe('withdrawal config', () => {
  it('screens withdrawals with compliance by default; allow must be asked for', () => {
    expect(loadWithdrawalConfig({}).COMPLIANCE_SCREENING).toBe('nats');
    expect(loadWithdrawalConfig({ COMPLIANCE_SCREENING: 'allow' }).COMPLIANCE_SCREENING).toBe('allow');
    expect(() => loadWithdrawalConfig({ COMPLIANCE_SCREENING: 'off' })).toThrow(ConfigError);
  });
});
