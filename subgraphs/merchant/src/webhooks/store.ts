import type { EntityManager } from '@cpg/core/db';
import { SCHEMA } from '../../migrations';

export const W = `"${SCHEMA}"`;

export interface EndpointRow {
  id: string;
  merchant_id: string;
  url: string;
  events: string[] | null;
  secret_sealed: string;
  previous_secret_sealed: string | null;
  previous_secret_expires_at: Date | null;
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: Date | null;
  created_at: Date;
  deleted_at: Date | null;
}

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  merchant_id: string;
  event_id: string;
  event_type: string;
  source_message_id: string | null;
  redelivery_of: string | null;
  body: string;
  status: 'PENDING' | 'RETRYING' | 'DELIVERED' | 'DEAD';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  lease_until: Date | null;
  lease_token: string | null;
  created_at: Date;
  delivered_at: Date | null;
  seq: string;
}

export interface AttemptRow {
  id: string;
  delivery_id: string;
  attempt: number;
  started_at: Date;
  status_code: number | null;
  latency_ms: number;
  response_excerpt: string | null;
  error: string | null;
}

/** Endpoints that receive new events of a merchant: enabled and not deleted. */
export async function liveEndpoints(em: EntityManager, merchantId: string): Promise<EndpointRow[]> {
  return em.execute<EndpointRow[]>(`select * from ${W}.webhook_endpoints where merchant_id = ? and enabled and deleted_at is null order by created_at`, [
    merchantId,
  ]);
}

export function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}
