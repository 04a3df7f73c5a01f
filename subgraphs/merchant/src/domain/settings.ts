import { parseDecimalRatio } from '@cpg/core/money';
import { badInput } from '@cpg/core/graphql';
import { ADDRESS_MODES, AGGREGATION_MODES, type MerchantSettingsMessage } from '@cpg/core/bus/catalogue/merchant';

export { ADDRESS_MODES, AGGREGATION_MODES };

/** Every setting, as `merchant.settings_updated` publishes them (the catalogue's schema, all fields set). */
export type MerchantSettings = Required<MerchantSettingsMessage>;

export const DEFAULT_SETTINGS: MerchantSettings = {
  addressMode: 'SINGLE',
  withdrawalAggregation: 'NONE',
  batchMaxSize: 50,
  batchMaxWaitSeconds: 600,
  paymentExpiryMinutes: 60,
  underpaymentTolerance: '0',
};

export type SettingsPatch = { [K in keyof MerchantSettings]?: MerchantSettings[K] | null };

const LIMITS = {
  batchMaxSize: [1, 1000],
  batchMaxWaitSeconds: [0, 86_400],
  paymentExpiryMinutes: [1, 10_080],
} as const;

/** Tolerance above this is a pricing decision, not a rounding allowance: refuse it. */
const MAX_TOLERANCE = { numerator: 1n, denominator: 10n };

/**
 * Applies a partial update. Null or absent fields keep their value. Every field is checked
 * before anything changes, and the first bad one is named in the error.
 */
export function applySettingsPatch(current: MerchantSettings, patch: SettingsPatch): MerchantSettings {
  const next: MerchantSettings = { ...current };
  if (patch.addressMode != null) {
    if (!ADDRESS_MODES.includes(patch.addressMode)) throw badInput(`addressMode must be one of ${ADDRESS_MODES.join(', ')}`, { field: 'addressMode' });
    next.addressMode = patch.addressMode;
  }
  if (patch.withdrawalAggregation != null) {
    if (!AGGREGATION_MODES.includes(patch.withdrawalAggregation))
      throw badInput(`withdrawalAggregation must be one of ${AGGREGATION_MODES.join(', ')}`, { field: 'withdrawalAggregation' });
    next.withdrawalAggregation = patch.withdrawalAggregation;
  }
  for (const field of ['batchMaxSize', 'batchMaxWaitSeconds', 'paymentExpiryMinutes'] as const) {
    const value = patch[field];
    if (value == null) continue;
    const [min, max] = LIMITS[field];
    if (!Number.isInteger(value) || value < min || value > max) throw badInput(`${field} must be a whole number from ${min} to ${max}`, { field });
    next[field] = value;
  }
  if (patch.underpaymentTolerance != null) {
    let ratio;
    try {
      ratio = parseDecimalRatio(patch.underpaymentTolerance, 6);
    } catch {
      throw badInput('underpaymentTolerance must be a decimal fraction such as "0.005" (at most 6 decimals)', { field: 'underpaymentTolerance' });
    }
    if (ratio.numerator * MAX_TOLERANCE.denominator > MAX_TOLERANCE.numerator * ratio.denominator) {
      throw badInput('underpaymentTolerance must be at most "0.1"', { field: 'underpaymentTolerance' });
    }
    next.underpaymentTolerance = patch.underpaymentTolerance;
  }
  return next;
}

export function validateMerchantName(name: string): string {
  const trimmed = name.trim();
  if (trimmed.length < 1 || trimmed.length > 200) throw badInput('name must be 1 to 200 characters', { field: 'name' });
  return trimmed;
}

export function validateKeyLabel(label: string): string {
  const trimmed = label.trim();
  if (trimmed.length < 1 || trimmed.length > 100) throw badInput('label must be 1 to 100 characters', { field: 'label' });
  return trimmed;
}
