import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@cpg/core/db';
import { type MerchantIdentity, badInput, notFound } from '@cpg/core/graphql';
import { isUuid } from '../domain/ids';
import { WEBHOOK_EVENTS, isKnownEvent } from './catalogue';
import type { WebhookConfig } from './config';
import { type SecretBox, generateSigningSecret } from './secrets';
import { RefusedAddressError, type Resolver, checkEndpointUrl } from './ssrf';
import { type AttemptRow, type DeliveryRow, type EndpointRow, W } from './store';

const MAX_ENDPOINTS_PER_MERCHANT = 20;

export interface DeliveryPage {
  nodes: DeliveryRow[];
  hasNextPage: boolean;
  endCursor: string | null;
}

const encodeCursor = (seq: string) => Buffer.from(`d:${seq}`).toString('base64url');
function decodeCursor(cursor: string): string {
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^d:\d+$/.test(raw)) throw badInput('bad cursor');
  return raw.slice(2);
}

/**
 * Webhook use cases behind the GraphQL API. Every method is called per request with the caller's
 * identity already checked for scope; each scopes its reads and writes to the caller's merchant.
 */
export class WebhookService {
  constructor(
    private readonly em: EntityManager,
    private readonly opts: { config: WebhookConfig; box: SecretBox; onDeliveriesCreated: () => void; resolve?: Resolver },
  ) {}

  /** Called by createWebhookEndpoint; not idempotent (each call makes an endpoint and a secret). */
  async create(caller: MerchantIdentity, input: { url: string; events?: string[] | null }): Promise<{ endpoint: EndpointRow; signingSecret: string }> {
    let events: string[] | null = null;
    if (input.events) {
      const unknown = input.events.filter((e) => !isKnownEvent(e));
      if (unknown.length) throw badInput(`unknown webhook events: ${unknown.join(', ')}`, { field: 'events', known: [...WEBHOOK_EVENTS] });
      if (!input.events.length) throw badInput('events must name at least one event, or be omitted for all', { field: 'events' });
      events = [...new Set(input.events)];
    }
    const url = input.url.trim();
    if (url.length > 2000) throw badInput('url is too long');
    try {
      await checkEndpointUrl(url, { production: this.opts.config.production, resolve: this.opts.resolve });
    } catch (err) {
      if (err instanceof RefusedAddressError) throw badInput(`webhook url refused: ${err.message}`, { field: 'url' });
      throw err;
    }
    const signingSecret = generateSigningSecret();
    const endpoint = await this.em.transactional(async (tx) => {
      const [count] = await tx.execute<{ n: string }[]>(`select count(*) as n from ${W}.webhook_endpoints where merchant_id = ? and deleted_at is null`, [
        caller.merchantId,
      ]);
      if (Number(count?.n ?? 0) >= MAX_ENDPOINTS_PER_MERCHANT) throw badInput(`at most ${MAX_ENDPOINTS_PER_MERCHANT} webhook endpoints`);
      const [row] = await tx.execute<EndpointRow[]>(
        `insert into ${W}.webhook_endpoints (id, merchant_id, url, events, secret_sealed) values (?, ?, ?, (select array_agg(x) from jsonb_array_elements_text(?::jsonb) x), ?) returning *`,
        [randomUUID(), caller.merchantId, url, events === null ? null : JSON.stringify(events), this.opts.box.seal(signingSecret)],
      );
      return row!;
    });
    return { endpoint, signingSecret };
  }

  /** Called by deleteWebhookEndpoint; idempotent for the caller's own endpoints (deleting twice is fine). */
  async delete(caller: MerchantIdentity, id: string): Promise<boolean> {
    const ep = await this.own(caller, id, true);
    await this.em.execute(`update ${W}.webhook_endpoints set deleted_at = coalesce(deleted_at, now()), enabled = false where id = ?`, [ep.id]);
    return true;
  }

  /**
   * Called by rotateWebhookSecret; not idempotent (each call makes a new secret). The current
   * secret becomes the previous one and keeps signing for the overlap; a previous secret still in
   * its overlap is dropped, so at most two secrets sign.
   */
  async rotate(caller: MerchantIdentity, id: string, overlapSeconds?: number | null): Promise<{ endpoint: EndpointRow; signingSecret: string }> {
    const overlap = overlapSeconds ?? this.opts.config.rotationOverlapSeconds;
    if (!Number.isInteger(overlap) || overlap < 0 || overlap > 30 * 86400)
      throw badInput('overlapSeconds must be between 0 and 2592000', { field: 'overlapSeconds' });
    await this.own(caller, id);
    const signingSecret = generateSigningSecret();
    const [endpoint] = await this.em.execute<EndpointRow[]>(
      `update ${W}.webhook_endpoints set previous_secret_sealed = secret_sealed, secret_sealed = ?,
         previous_secret_expires_at = now() + (? * interval '1 second') where id = ? returning *`,
      [this.opts.box.seal(signingSecret), overlap, id],
    );
    return { endpoint: endpoint!, signingSecret };
  }

  /** Called for Merchant.webhookEndpoints; read-only. */
  async list(merchantId: string): Promise<EndpointRow[]> {
    return this.em.execute<EndpointRow[]>(`select * from ${W}.webhook_endpoints where merchant_id = ? and deleted_at is null order by created_at, id`, [
      merchantId,
    ]);
  }

  /** Called for WebhookEndpoint.deliveries; newest first, read-only. */
  async deliveries(endpointId: string, first: number | null | undefined, after: string | null | undefined): Promise<DeliveryPage> {
    const n = first ?? 20;
    if (!Number.isInteger(n) || n < 1 || n > 100) throw badInput('first must be between 1 and 100', { field: 'first' });
    const before = after ? decodeCursor(after) : null;
    const rows = await this.em.execute<DeliveryRow[]>(
      `select * from ${W}.webhook_deliveries where endpoint_id = ? ${before ? 'and seq < ?' : ''} order by seq desc limit ?`,
      before ? [endpointId, before, n + 1] : [endpointId, n + 1],
    );
    const nodes = rows.slice(0, n);
    return { nodes, hasNextPage: rows.length > n, endCursor: nodes.length ? encodeCursor(String(nodes[nodes.length - 1]!.seq)) : null };
  }

  /** Called for WebhookDelivery.attemptLog; read-only. */
  async attempts(deliveryId: string): Promise<AttemptRow[]> {
    return this.em.execute<AttemptRow[]>(`select * from ${W}.webhook_attempts where delivery_id = ? order by id`, [deliveryId]);
  }

  /**
   * Called by redeliverWebhook; not idempotent: each call queues one more send of the same event
   * (same id and body, freshly signed), as a new delivery row so the original's history stays.
   */
  async redeliver(caller: MerchantIdentity, deliveryId: string): Promise<DeliveryRow> {
    if (!isUuid(deliveryId)) throw notFound('webhook delivery');
    const [orig] = await this.em.execute<(DeliveryRow & { deleted_at: Date | null })[]>(
      `select d.*, e.deleted_at from ${W}.webhook_deliveries d join ${W}.webhook_endpoints e on e.id = d.endpoint_id where d.id = ? and d.merchant_id = ?`,
      [deliveryId, caller.merchantId],
    );
    if (!orig || orig.deleted_at) throw notFound('webhook delivery');
    const [row] = await this.em.execute<DeliveryRow[]>(
      `insert into ${W}.webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, redelivery_of, body, next_attempt_at)
       values (?, ?, ?, ?, ?, ?, ?, now()) returning *`,
      [randomUUID(), orig.endpoint_id, orig.merchant_id, orig.event_id, orig.event_type, orig.id, orig.body],
    );
    this.opts.onDeliveriesCreated();
    return row!;
  }

  private async own(caller: MerchantIdentity, id: string, includeDeleted = false): Promise<EndpointRow> {
    if (!isUuid(id)) throw notFound('webhook endpoint');
    const [ep] = await this.em.execute<EndpointRow[]>(
      `select * from ${W}.webhook_endpoints where id = ? and merchant_id = ? ${includeDeleted ? '' : 'and deleted_at is null'}`,
      [id, caller.merchantId],
    );
    if (!ep) throw notFound('webhook endpoint');
    return ep;
  }
}
