import { randomUUID } from 'node:crypto';
import type { MikroORM } from '@cpg/core/db';
import type { Logger } from '@cpg/core/logger';
import { WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER, signatureHeader } from '@cpg/core/webhooks';
import { type WebhookConfig, retryDelayMs } from './config';
import { type Candidate, pickFairly } from './fair-share';
import type { SecretBox } from './secrets';
import { type SendResult, sendWebhook } from './sender';
import type { Resolver } from './ssrf';
import { type DeliveryRow, type EndpointRow, W, placeholders } from './store';

type Claimed = DeliveryRow & Pick<EndpointRow, 'url' | 'secret_sealed' | 'previous_secret_sealed' | 'previous_secret_expires_at'>;

export interface DispatcherDeps {
  orm: MikroORM;
  log: Logger;
  config: WebhookConfig;
  box: SecretBox;
  /** For tests: a resolver that never touches DNS (see Resolver). */
  resolve?: Resolver;
}

/**
 * Sends due deliveries. The database is the queue: a pass claims due rows with SKIP LOCKED and
 * stamps a lease on them, commits, sends without holding a transaction (a slow receiver must not
 * pin a connection for 10 s), then records the attempt. A crash between claim and record leaves the
 * lease to lapse and the row is sent again (at least once); a row recorded DELIVERED is never
 * claimed again, so no restart re-sends it.
 */
export class WebhookDispatcher {
  private timer?: NodeJS.Timeout;
  private stopped = true;
  private ticking = false;
  private again = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxInFlight: number;

  constructor(private readonly deps: DispatcherDeps) {
    this.maxInFlight = deps.config.maxInFlight;
  }

  /** Called once at process start (onStart); polls until stop(). Not meant to be called twice. */
  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Called after a commit that created due deliveries, to send them without waiting a tick. Idempotent: extra calls only cause an extra (empty) pass. */
  kick(): void {
    if (this.stopped) return;
    if (this.ticking) this.again = true;
    else this.schedule(0);
  }

  /** Called at shutdown (or by tests to simulate a restart): stops claiming and waits for the sends in flight to be recorded. Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.ticking) await new Promise((r) => setTimeout(r, 10));
    await Promise.allSettled([...this.inFlight]);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    this.again = false;
    let claimed = 0;
    try {
      claimed = await this.claimAndSend();
    } catch (err) {
      this.deps.log.warn({ err: (err as Error).message }, 'webhook dispatcher pass failed; will retry');
    } finally {
      this.ticking = false;
    }
    this.schedule(this.again || claimed > 0 ? 0 : this.deps.config.pollMs);
  }

  /** One pass: claims what is due (within the per-endpoint limit) and starts sending it. */
  private async claimAndSend(): Promise<number> {
    const room = this.maxInFlight - this.inFlight.size;
    if (room <= 0) return 0;
    const rows = await this.claim(room);
    for (const row of rows) {
      const p = this.deliver(row).catch((err) =>
        this.deps.log.error({ err: (err as Error).message, deliveryId: row.id }, 'recording a webhook attempt failed'),
      );
      this.inFlight.add(p);
      void p.finally(() => {
        this.inFlight.delete(p);
        this.kick();
      });
    }
    return rows.length;
  }

  private async claim(limit: number): Promise<Claimed[]> {
    const { config } = this.deps;
    return this.deps.orm.em.fork().transactional(async (tx) => {
      // Candidates ranked within their merchant and taken rank first: every merchant's oldest due
      // delivery is a candidate before anyone's second, so a merchant with a large old backlog
      // cannot fill the candidate list and hide everybody else's deliveries.
      const ranked = await tx.execute<{ id: string }[]>(
        `select id from (
           select d.id, d.next_attempt_at, d.seq, row_number() over (partition by d.merchant_id order by d.next_attempt_at, d.seq) as rank
             from ${W}.webhook_deliveries d join ${W}.webhook_endpoints e on e.id = d.endpoint_id
            where d.status in ('PENDING','RETRYING') and d.next_attempt_at <= now() and (d.lease_until is null or d.lease_until < now())
              and e.enabled and e.deleted_at is null) c
          where rank <= ? order by rank, next_attempt_at, seq limit ?`,
        [limit * 4, limit * 4],
      );
      if (!ranked.length) return [];
      const lockedRows = await tx.execute<{ id: string; endpoint_id: string; merchant_id: string }[]>(
        `select id, endpoint_id, merchant_id from ${W}.webhook_deliveries
          where id in (${placeholders(ranked.length)}) and status in ('PENDING','RETRYING') and next_attempt_at <= now()
            and (lease_until is null or lease_until < now())
          for update skip locked`,
        ranked.map((r) => r.id),
      );
      const byId = new Map(lockedRows.map((r) => [r.id, r]));
      const due: Candidate[] = ranked.flatMap((r) => {
        const row = byId.get(r.id);
        return row ? [{ id: row.id, endpointId: row.endpoint_id, merchantId: row.merchant_id }] : [];
      });
      if (!due.length) return [];
      const merchantIds = [...new Set(due.map((d) => d.merchantId))].sort();
      // Locking the merchants' endpoints serialises claims per merchant across replicas, so the
      // in-flight counts below cannot be read by two claimers at once and the caps hold cluster-wide.
      await tx.execute(`select id from ${W}.webhook_endpoints where merchant_id in (${placeholders(merchantIds.length)}) order by id for update`, merchantIds);
      const busy = await tx.execute<{ endpoint_id: string; merchant_id: string; n: string }[]>(
        `select endpoint_id, merchant_id, count(*) as n from ${W}.webhook_deliveries
          where merchant_id in (${placeholders(merchantIds.length)}) and lease_until > now() and status in ('PENDING','RETRYING')
          group by endpoint_id, merchant_id`,
        merchantIds,
      );
      const byEndpoint = new Map<string, number>();
      const byMerchant = new Map<string, number>();
      for (const b of busy) {
        byEndpoint.set(b.endpoint_id, Number(b.n));
        byMerchant.set(b.merchant_id, (byMerchant.get(b.merchant_id) ?? 0) + Number(b.n));
      }
      const chosen = pickFairly(due, byEndpoint, byMerchant, { perEndpoint: config.concurrencyPerEndpoint, perMerchant: config.concurrencyPerMerchant }, limit);
      if (!chosen.length) return [];
      const token = randomUUID();
      await tx.execute(
        `update ${W}.webhook_deliveries set lease_until = now() + (? * interval '1 millisecond'), lease_token = ? where id in (${placeholders(chosen.length)})`,
        [config.leaseMs, token, ...chosen],
      );
      return tx.execute<Claimed[]>(
        `select d.*, e.url, e.secret_sealed, e.previous_secret_sealed, e.previous_secret_expires_at
           from ${W}.webhook_deliveries d join ${W}.webhook_endpoints e on e.id = d.endpoint_id
          where d.id in (${placeholders(chosen.length)}) order by d.seq`,
        chosen,
      );
    });
  }

  private secretsOf(row: Claimed): string[] {
    const secrets = [this.deps.box.open(row.secret_sealed)];
    if (row.previous_secret_sealed && row.previous_secret_expires_at && new Date(row.previous_secret_expires_at).getTime() > Date.now()) {
      secrets.push(this.deps.box.open(row.previous_secret_sealed));
    }
    return secrets;
  }

  private async deliver(row: Claimed): Promise<void> {
    const { config } = this.deps;
    const startedAt = new Date();
    const timestamp = Math.floor(startedAt.getTime() / 1000);
    let secrets: string[];
    try {
      secrets = this.secretsOf(row);
    } catch {
      // Sealed under another GATEWAY_SECRET: nothing can sign it until the merchant rotates, so
      // this counts as a failed attempt (visible, and the retry schedule still ends) instead of
      // leaving the row to be re-claimed forever.
      await this.record(row, startedAt, { ok: false, statusCode: null, latencyMs: 0, excerpt: null, error: 'signing secret unreadable; rotate the secret' });
      return;
    }
    const result: SendResult = await sendWebhook({
      url: row.url,
      body: row.body,
      timeoutMs: config.timeoutMs,
      production: config.production,
      resolve: this.deps.resolve,
      headers: {
        [WEBHOOK_ID_HEADER]: row.event_id,
        [WEBHOOK_TIMESTAMP_HEADER]: String(timestamp),
        [WEBHOOK_SIGNATURE_HEADER]: signatureHeader(secrets, timestamp, row.body),
      },
    });
    await this.record(row, startedAt, result);
  }

  private async record(row: Claimed, startedAt: Date, r: SendResult): Promise<void> {
    const { config, log } = this.deps;
    const attempt = row.attempts + 1;
    await this.deps.orm.em.fork().transactional(async (tx) => {
      await tx.execute(
        `insert into ${W}.webhook_attempts (delivery_id, attempt, started_at, status_code, latency_ms, response_excerpt, error) values (?, ?, ?, ?, ?, ?, ?)`,
        [row.id, attempt, startedAt, r.statusCode, r.latencyMs, r.excerpt, r.error],
      );
      if (r.ok) {
        await tx.execute(
          `update ${W}.webhook_deliveries set status = 'DELIVERED', attempts = ?, last_status_code = ?, last_error = null, delivered_at = now(),
             next_attempt_at = null, lease_until = null, lease_token = null where id = ? and lease_token = ?`,
          [attempt, r.statusCode, row.id, row.lease_token],
        );
        await tx.execute(`update ${W}.webhook_endpoints set failing_since = null where id = ?`, [row.endpoint_id]);
        return;
      }
      const delay = retryDelayMs(config, attempt);
      await tx.execute(
        `update ${W}.webhook_deliveries set status = ?, attempts = ?, last_status_code = ?, last_error = ?,
           next_attempt_at = ${delay === null ? 'null' : `now() + (${delay} * interval '1 millisecond')`}, lease_until = null, lease_token = null
         where id = ? and lease_token = ?`,
        [delay === null ? 'DEAD' : 'RETRYING', attempt, r.statusCode, r.error?.slice(0, 1000) ?? null, row.id, row.lease_token],
      );
      const [ep] = await tx.execute<{ failing_since: Date }[]>(
        `update ${W}.webhook_endpoints set failing_since = coalesce(failing_since, ?) where id = ? returning failing_since`,
        [startedAt, row.endpoint_id],
      );
      if (ep && Date.now() - new Date(ep.failing_since).getTime() >= config.disableAfterMs) {
        const note = `disabled automatically: every delivery failed since ${new Date(ep.failing_since).toISOString()} (last: ${r.error ?? 'unknown error'})`;
        await tx.execute(`update ${W}.webhook_endpoints set enabled = false, disabled_reason = ? where id = ? and enabled`, [
          note.slice(0, 1000),
          row.endpoint_id,
        ]);
        log.warn({ endpointId: row.endpoint_id }, note);
      }
    });
  }
}
