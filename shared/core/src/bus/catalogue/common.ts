import { z } from 'zod';

/** Amounts on the bus: base units as a decimal integer string (bigint in code). */
export const baseUnits = z.string().regex(/^\d+$/, 'base units as a decimal integer string');

// Hex hashes arrive in either case depending on the RPC; one transfer must have one spelling.
export function normalTxHash(h: string): string {
  return /^(0x)?[0-9a-fA-F]+$/.test(h) ? h.toLowerCase() : h;
}

/**
 * The rest of a `<thing>.updated` notice after its ids: the event and the status it left, as text.
 * The gateway re-reads the thing itself, so the notice carries no snapshot; tests and the bench
 * publish their own names to the live feed.
 */
export const changeNotice = { event: z.string(), status: z.string() };

/** Address types every subgraph and worker shares. */
export const ADDRESS_TYPES = ['USER', 'HOT', 'COLD', 'TOKENS_COLLECTOR'] as const;
export const COLD_WALLET_STATUSES = ['PENDING_REVIEW', 'COOLING_OFF', 'ACTIVE', 'REJECTED'] as const;
export const SCREENING_DECISIONS = ['ALLOW', 'REVIEW', 'BLOCK'] as const;
export const COLLECTION_STEP_KINDS = ['gas_topup', 'sweep', 'cold_forward'] as const;
