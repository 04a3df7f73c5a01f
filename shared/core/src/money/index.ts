export {
  MONEY_ERROR_REASONS,
  MAX_DECIMALS,
  MAX_UNITS,
  MoneyError,
  convertDecimals,
  formatAmount,
  isAmountString,
  mulRatio,
  parseAmount,
  parseDecimalRatio,
  sumAmounts,
} from './money';
export type { DecimalRatio, MoneyErrorReason, ParseAmountOptions, Rounding } from './money';
