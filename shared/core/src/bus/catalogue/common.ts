import { z } from 'zod';

/** Amounts on the bus: base units as a decimal integer string (bigint in code). */
export const baseUnits = z.string().regex(/^\d+$/, 'base units as a decimal integer string');

// Hex hashes arrive in either case depending on the RPC; one transfer must have one spelling.
export function normalTxHash(h: string): string {
  return /^(0x)?[0-9a-fA-F]+$/.test(h) ? h.toLowerCase() : h;
}

/** Address types every subgraph and worker shares. */
export const ADDRESS_TYPES = ['USER', 'HOT', 'COLD', 'TOKENS_COLLECTOR'] as const;
export const COLD_WALLET_STATUSES = ['PENDING_REVIEW', 'COOLING_OFF', 'ACTIVE', 'REJECTED'] as const;
export const SCREENING_DECISIONS = ['ALLOW', 'REVIEW', 'BLOCK'] as const;
export const COLLECTION_STEP_KINDS = ['gas_topup', 'sweep', 'cold_forward'] as const;
