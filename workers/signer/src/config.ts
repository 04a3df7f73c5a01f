import { z } from 'zod';
import { workerConfig } from '@cpg/shared/config';

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
  }),
);
export type SignerConfig = z.infer<typeof signerConfig>;
