import type { MerchantSettingsMessage } from '@cpg/core/bus';
import type { EntityManager } from '@cpg/core/db';
import { T } from './payment-store';

/** Defaults of the merchant subgraph, for a merchant whose settings event has not arrived yet. */
export const DEFAULT_EXPIRY_MINUTES = 60;
export const DEFAULT_TOLERANCE = '0';

export interface PaymentSettings {
  paymentExpiryMinutes: number;
  underpaymentTolerance: string;
}

/** A new merchant: its defaults, unless a settings event got here first. Idempotent. */
export async function insertDefaultSettings(tx: EntityManager, merchantId: string, at: Date): Promise<void> {
  await tx.execute(
    `insert into ${T}.merchant_settings (merchant_id, payment_expiry_minutes, underpayment_tolerance, updated_at) values (?, ?, ?, ?) on conflict do nothing`,
    [merchantId, DEFAULT_EXPIRY_MINUTES, DEFAULT_TOLERANCE, at],
  );
}

/**
 * The merchant's published settings, as of `at`: an older event never overwrites a newer one, and
 * a field the event lacks keeps its value. Idempotent.
 */
export async function upsertSettings(tx: EntityManager, merchantId: string, s: MerchantSettingsMessage, at: Date): Promise<void> {
  const minutes = s.paymentExpiryMinutes ?? null;
  const tolerance = s.underpaymentTolerance ?? null;
  await tx.execute(
    `insert into ${T}.merchant_settings (merchant_id, payment_expiry_minutes, underpayment_tolerance, updated_at) values (?, coalesce(?::int, ?), coalesce(?, ?), ?)
     on conflict (merchant_id) do update set
       payment_expiry_minutes = coalesce(?::int, merchant_settings.payment_expiry_minutes),
       underpayment_tolerance = coalesce(?, merchant_settings.underpayment_tolerance),
       updated_at = excluded.updated_at
     where merchant_settings.updated_at <= excluded.updated_at`,
    [merchantId, minutes, DEFAULT_EXPIRY_MINUTES, tolerance, DEFAULT_TOLERANCE, at, minutes, tolerance],
  );
}

/** The merchant's settings, or null before its first event arrived. */
export async function settingsOf(em: EntityManager, merchantId: string): Promise<PaymentSettings | null> {
  const [row] = await em.execute<{ payment_expiry_minutes: number; underpayment_tolerance: string }[]>(
    `select payment_expiry_minutes, underpayment_tolerance from ${T}.merchant_settings where merchant_id = ?`,
    [merchantId],
  );
  return row ? { paymentExpiryMinutes: row.payment_expiry_minutes, underpaymentTolerance: row.underpayment_tolerance } : null;
}
