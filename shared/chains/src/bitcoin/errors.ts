import { ChainError } from '../types';

/** A refusal that retrying cannot fix; `code` matches the API's error codes where one fits. */
export class BitcoinSignerError extends ChainError {
  constructor(
    message: string,
    readonly code: 'INSUFFICIENT_FUNDS' | 'BAD_USER_INPUT' | 'KEY_MISMATCH' | 'MULTISIG_INCOMPLETE',
  ) {
    super(message, false);
    this.name = 'BitcoinSignerError';
  }
}
