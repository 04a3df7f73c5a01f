import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logger';
import { type Bus, eventSubject } from '../bus/bus';
import { type EventType, type EventData, subjectStem, validateEvent } from '../bus/messages';

/** A UUID derived from a stable key, for events whose identity is a fact (a chain transfer). */
export function deterministicId(key: string): string {
  const h = createHash('sha256').update(key).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Records an event in the same transaction as the state change it describes. Call it inside
 * `em.transactional`; the relay publishes it after commit, with the row id as the JetStream
 * message id, so a relay crash between publish and mark cannot deliver it twice.
 * Not idempotent by itself: the caller's own unique keys stop a retried write.
 */
export async function writeOutbox<T extends EventType>(
  em: EntityManager,
  schema: string,
  type: T,
  data: EventData<T>,
  opts: { key: string; id?: string },
): Promise<string> {
  validateEvent(type, data);
  const id = opts.id ?? randomUUID();
  const subject = eventSubject(subjectStem(type, data), opts.key);
  // A deterministic id (e.g. per chain transfer and kind) makes re-emission after a crash a no-op.
  await em.execute(`insert into "${schema}".outbox (id, subject, type, payload) values (?, ?, ?, ?) on conflict (id) do nothing`, [
    id,
    subject,
    type,
    JSON.stringify(data),
  ]);
  return id;
}

interface OutboxRow {
  id: string;
  subject: string;
  type: string;
  payload: unknown;
  created_at: Date;
}

export interface OutboxRelayOptions {
  em: EntityManager;
  schema: string;
  bus: Bus;
  log: Logger;
  intervalMs?: number;
  batchSize?: number;
}

/**
 * Publishes unpublished outbox rows in order. Rows are claimed with SKIP LOCKED so several relay
 * replicas share the work; while NATS is down the publish fails, the transaction rolls back and
 * the rows wait for the next pass (backing off), so nothing is lost and nothing is skipped.
 */
export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private running = false;
  private stopped = true;
  private failures = 0;
  private readonly intervalMs: number;
  private readonly batchSize: number;

  constructor(private readonly opts: OutboxRelayOptions) {
    this.intervalMs = opts.intervalMs ?? 200;
    this.batchSize = opts.batchSize ?? 100;
  }

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** Wake the relay now (after a commit) instead of waiting for the next tick. */
  kick(): void {
    if (!this.stopped && !this.running && this.failures === 0) this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 10));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    let published = 0;
    try {
      published = await this.drainOnce();
      if (this.failures > 0) this.opts.log.info('outbox relay recovered');
      this.failures = 0;
    } catch (err) {
      this.failures++;
      // One line per outage, then quiet: a NATS outage must not flood the logs.
      if (this.failures === 1) this.opts.log.warn({ err: (err as Error).message }, 'outbox relay cannot publish; will retry');
    } finally {
      this.running = false;
    }
    const backoff = this.failures ? Math.min(5000, this.intervalMs * 2 ** Math.min(this.failures, 5)) : published === this.batchSize ? 0 : this.intervalMs;
    this.schedule(backoff);
  }

  /** Publishes one batch; returns how many rows it published. Exposed for tests and shutdown. */
  async drainOnce(): Promise<number> {
    const { schema, bus } = this.opts;
    const em = this.opts.em.fork();
    return em.transactional(async (tx) => {
      const rows = await tx.execute<OutboxRow[]>(
        `select id, subject, type, payload, created_at from "${schema}".outbox where published_at is null order by seq limit ? for update skip locked`,
        [this.batchSize],
      );
      if (!rows.length) return 0;
      for (const row of rows) {
        await bus.publishEnvelope(row.subject, { id: row.id, type: row.type, occurredAt: new Date(row.created_at).toISOString(), data: row.payload });
      }
      const ids = rows.map((r) => r.id);
      await tx.execute(`update "${schema}".outbox set published_at = now(), attempts = attempts + 1 where id in (${ids.map(() => '?').join(', ')})`, ids);
      return rows.length;
    });
  }
}

/**
 * Runs `effect` at most once per (consumer, messageId): the marker row and the effect commit in
 * one transaction, so a redelivered or replayed message finds the marker and does nothing.
 * Returns false when the message had already been applied.
 */
export async function applyOnce(
  em: EntityManager,
  schema: string,
  consumer: string,
  messageId: string,
  effect: (tx: EntityManager) => Promise<void>,
): Promise<boolean> {
  return em.fork().transactional(async (tx) => {
    const inserted = await tx.execute<{ message_id: string }[]>(
      `insert into "${schema}".processed_messages (consumer, message_id) values (?, ?) on conflict do nothing returning message_id`,
      [consumer, messageId],
    );
    if (!inserted.length) return false;
    await effect(tx);
    return true;
  });
}
