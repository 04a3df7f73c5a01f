import { AppError } from '@cpg/core/graphql';
import { grantableScopes } from './scopes';

describe('grantableScopes', () => {
  it('returns requested scopes held by the creator, deduplicated and in canonical order', () => {
    expect(grantableScopes(['READ', 'SETTINGS_WRITE', 'PAYMENTS_WRITE'], ['PAYMENTS_WRITE', 'READ', 'READ'])).toEqual(['READ', 'PAYMENTS_WRITE']);
  });
  it('refuses escalation with FORBIDDEN', () => {
    expect(() => grantableScopes(['READ', 'SETTINGS_WRITE'], ['WITHDRAWALS_WRITE'])).toThrow(AppError);
    try {
      grantableScopes(['READ'], ['READ', 'WITHDRAWALS_WRITE']);
    } catch (e) {
      expect((e as AppError).code).toBe('FORBIDDEN');
      expect((e as Error).message).toContain('WITHDRAWALS_WRITE');
    }
  });
  it('refuses empty and unknown scopes with BAD_USER_INPUT', () => {
    for (const req of [[], ['ROOT']]) {
      try {
        grantableScopes(['READ'], req);
        throw new Error('did not throw');
      } catch (e) {
        expect((e as AppError).code).toBe('BAD_USER_INPUT');
      }
    }
  });
});
