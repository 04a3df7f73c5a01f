import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { Bus, type EventData } from '@cpg/core/bus';
import { eventually, type TestEnv } from '@cpg/devkit/testing';
import { batchMismatch } from '../../../subgraphs/withdrawal/src/domain/verify-batch';

export type BatchUpdate = EventData<'withdrawal.batch.updated'>;
export type BatchItem = { withdrawalId: string; toAddress: string; amount: string };

/** A logger that keeps every line (debug and up) so tests can search the whole run for secrets. */
export function capturingLogger(): { log: Logger; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level: 'debug', base: { service: 'signer-test' } }, stream), text: () => lines.join('') };
}

/** What the withdrawal subgraph would see: every withdrawal.batch.updated, per batch. */
export class BatchEvents {
  readonly all: { id: string; data: BatchUpdate }[] = [];
  private stopper?: () => Promise<void>;

  constructor(readonly bus: Bus) {}

  async start(): Promise<void> {
    const c = await this.bus.consume({
      durable: `test-batches-${randomUUID().slice(0, 8)}`,
      types: ['withdrawal.batch.updated'],
      retryBaseMs: 50,
      handler: async (e) => {
        this.all.push({ id: e.id, data: e.data });
      },
    });
    this.stopper = () => c.stop();
  }

  async stop(): Promise<void> {
    await this.stopper?.();
  }

  of(batchId: string): BatchUpdate[] {
    return this.all.filter((e) => e.data.batchId === batchId).map((e) => e.data);
  }

  statuses(batchId: string): string[] {
    return this.of(batchId).map((e) => e.status);
  }

  async wait(batchId: string, status: BatchUpdate['status'], timeoutMs = 30_000, pred: (e: BatchUpdate) => boolean = () => true): Promise<BatchUpdate> {
    return eventually(
      async () => {
        const found = this.of(batchId).filter((e) => e.status === status && pred(e));
        return found.length ? found[found.length - 1] : undefined;
      },
      `batch ${batchId} ${status} (seen: ${this.statuses(batchId).join(', ') || 'nothing'})`,
      timeoutMs,
      50,
    );
  }
}

export async function testClient(env: TestEnv, name = 'signer-withdrawal-test'): Promise<Bus> {
  return Bus.connect({ url: env.natsUrl, namespace: env.namespace, name, log: env.log });
}

export type BatchReady = { batchId: string; merchantId: string; network: string; coinId: string; items: BatchItem[] };

/**
 * The withdrawal subgraph's side of `withdrawal.verify_batch`, for tests that publish
 * withdrawal.batch.ready themselves: the batches this test made (recorded by publishReady before it
 * publishes, as the subgraph stores a batch before its message goes out), checked with the
 * subgraph's own rule (batchMismatch). `pause()` stops answering (the subgraph down: requests time
 * out) until `resume()`.
 */
export class WithdrawalBook {
  private readonly batches = new Map<string, BatchReady>();
  private paused = false;
  readonly asked: { batchId: string; ok: boolean; reason?: string }[] = [];

  record(batch: BatchReady): void {
    this.batches.set(batch.batchId, structuredClone(batch));
  }

  serve(bus: Bus): void {
    bus.reply('withdrawal.verify_batch', async (claim) => {
      while (this.paused) await new Promise((r) => setTimeout(r, 100));
      const b = this.batches.get(claim.batchId);
      const reason = batchMismatch(
        b ? { merchantId: b.merchantId, networkId: b.network, coinId: b.coinId, status: 'BATCHED' } : null,
        (b?.items ?? []).map((i) => ({ withdrawalId: i.withdrawalId, toAddress: i.toAddress, amount: BigInt(i.amount), status: 'BATCHED' })),
        claim,
      );
      this.asked.push({ batchId: claim.batchId, ok: reason === null, ...(reason ? { reason } : {}) });
      return reason === null ? { ok: true as const } : { ok: false as const, reason };
    });
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }
}

/** One book per test file (jest loads this module once per file). */
export const book = new WithdrawalBook();

/** Publishes withdrawal.batch.ready as the withdrawal subgraph would (a fresh message id unless given). */
export async function publishReady(bus: Bus, batch: BatchReady, messageId: string = randomUUID()): Promise<void> {
  book.record(batch);
  await bus.publish('withdrawal.batch.ready', batch, { id: messageId, key: batch.batchId });
}

/** Publishes a withdrawal.batch.ready the withdrawal subgraph never made (or altered): a forgery. */
export async function publishForged(bus: Bus, batch: BatchReady): Promise<void> {
  await bus.publish('withdrawal.batch.ready', batch, { id: randomUUID(), key: batch.batchId });
}

/** The merchant's HOT wallet address on a network, through the signer's create_key path. */
export async function hotAddress(bus: Bus, merchantId: string, networkId: string): Promise<{ keyId: string; address: string }> {
  return bus.request('signer.create_key', { merchantId, networkId, purpose: 'HOT', requestId: `test-hot-${randomUUID()}` }, 15_000);
}

export function items(toAddresses: string[], amount: (i: number) => bigint): BatchItem[] {
  return toAddresses.map((toAddress, i) => ({ withdrawalId: randomUUID(), toAddress, amount: amount(i).toString() }));
}
