import { z } from 'zod';
import { workerConfig } from '@cpg/core/config';

/**
 * The signer's config: a worker's, plus the key-encryption key that seals seeds and keys at
 * rest. zod messages never echo the value, so a bad key does not end up in a crash log.
 */
export const signerConfig = workerConfig.merge(
  z.object({
    KEY_ENCRYPTION_KEY: z
      .string({ required_error: 'KEY_ENCRYPTION_KEY is required (32 random bytes as 64 hex characters)' })
      .regex(/^[0-9a-fA-F]{64}$/, 'KEY_ENCRYPTION_KEY must be 32 bytes written as 64 hex characters')
      // A placeholder left in a deploy file would seal everything under a guessable key.
      .refine((v) => !/^0+$/.test(v), 'KEY_ENCRYPTION_KEY must not be all zeros'),
    /** Written in front of each sealed value; raise it when rotating to a new KEY_ENCRYPTION_KEY. */
    KEY_ENCRYPTION_KEY_ID: z.coerce.number().int().min(1).max(255).default(1),
    /** Off: the signer only serves keys (no withdrawal consumer, no chain access). */
    SIGNER_WITHDRAWALS: z.enum(['0', '1', 'true', 'false']).default('1'),
    /** How often due withdrawal batches are looked at (broadcast, confirmations, bumps). */
    WITHDRAWAL_POLL_MS: z.coerce.number().int().min(10).max(600_000).default(3_000),
    /** How often a batch the HOT wallet cannot cover yet is checked again. */
    WITHDRAWAL_FUNDS_RETRY_MS: z.coerce.number().int().min(10).max(3_600_000).default(30_000),
    /** A broadcast transaction not included after this long is fee-bumped by replacement. */
    WITHDRAWAL_BUMP_AFTER_SECONDS: z.coerce.number().int().min(1).max(86_400).default(600),
    /** Each bump raises the fee rate by at least this percentage (nodes want >= 10 %). */
    WITHDRAWAL_BUMP_PERCENT: z.coerce.number().int().min(11).max(1000).default(25),
    /**
     * Test hook, honoured only with NODE_ENV=test: the process kills itself (SIGKILL) right after
     * a signed transaction is stored and before it is broadcast.
     */
    SIGNER_TEST_KILL_AFTER_SIGN: z.enum(['0', '1']).default('0'),
  }),
);

/**
 * `BATCH_TRANSFER_<NETWORK>` (the network id upper-cased, `-` as `_`; e.g. BATCH_TRANSFER_ETHEREUM):
 * where a real EVM network's BatchTransfer contract lives. The names depend on the network
 * catalogue, so they are collected here beside the zod model rather than listed in it; the
 * addresses are checked when a batch first needs them (a bad one refuses that network's batches).
 */
export function batchTransferVariables(env: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('BATCH_TRANSFER_') && !!e[1]));
}

export type SignerConfig = z.infer<typeof signerConfig> & {
  /** From batchTransferVariables, keyed by variable name; none when absent (dev chains deploy their own). */
  batchTransferContracts: Record<string, string>;
};
