/** The public event catalogue (README "Webhooks" lists what each carries). */
export const WEBHOOK_EVENTS = [
  'payment.created',
  'payment.deposit_seen',
  'payment.confirming',
  'payment.paid',
  'payment.overpaid',
  'payment.partially_paid',
  'payment.expired',
  'payment.paid_late',
  'deposit.reorged',
  'payment.on_hold',
  'withdrawal.created',
  'withdrawal.pending_approval',
  'withdrawal.approved',
  'withdrawal.rejected',
  'withdrawal.broadcast',
  'withdrawal.completed',
  'withdrawal.failed',
  'compliance.alert',
  'cold_wallet.registered',
  'cold_wallet.approved',
  'cold_wallet.rejected',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

export const WEBHOOK_API_VERSION = '2026-11-01';

/** Accepts catalogue names and the `withdrawal.*` and `cold_wallet.*` wildcards. */
export function isKnownEvent(name: string): boolean {
  return name === 'withdrawal.*' || name === 'cold_wallet.*' || (WEBHOOK_EVENTS as readonly string[]).includes(name);
}

/** Whether an endpoint's list (null = everything) asks for `type`. */
export function wants(events: readonly string[] | null, type: string): boolean {
  if (events === null) return true;
  return events.some((e) => e === type || (e.endsWith('.*') && type.startsWith(e.slice(0, -1))));
}

/**
 * The webhook type of a `payment.updated` event's `event` field. `cancelled` has no webhook: the
 * merchant cancelled it through the API and already knows.
 */
export function webhookTypeOfPaymentEvent(event: string): WebhookEventType | null {
  switch (event) {
    case 'created':
    case 'deposit_seen':
    case 'confirming':
    case 'paid':
    case 'overpaid':
    case 'partially_paid':
    case 'expired':
    case 'paid_late':
    case 'on_hold':
      return `payment.${event}`;
    case 'deposit_reorged':
      return 'deposit.reorged';
    default:
      return null;
  }
}

/**
 * The webhook type of a `withdrawal.updated` event's `event` field. Cancellation has none (the
 * merchant cancelled it), nor have the internal steps batched, waiting_funds and signing.
 */
export function webhookTypeOfWithdrawalEvent(event: string): WebhookEventType | null {
  switch (event) {
    case 'requested':
      return 'withdrawal.created';
    case 'pending_approval':
    case 'approved':
    case 'rejected':
    case 'broadcast':
    case 'failed':
      return `withdrawal.${event}`;
    case 'confirmed':
      return 'withdrawal.completed';
    default:
      return null;
  }
}
