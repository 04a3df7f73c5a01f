import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { Bus, type EventData } from '@cpg/shared/bus';
import { eventually, type TestEnv } from '@cpg/shared/testing';

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

/** Publishes withdrawal.batch.ready as the withdrawal subgraph would (a fresh message id unless given). */
export async function publishReady(
  bus: Bus,
  batch: { batchId: string; merchantId: string; network: string; coinId: string; items: BatchItem[] },
  messageId: string = randomUUID(),
): Promise<void> {
  await bus.publish('withdrawal.batch.ready', batch, { id: messageId, key: batch.batchId });
}

/** The merchant's HOT wallet address on a network, through the signer's create_key path. */
export async function hotAddress(bus: Bus, merchantId: string, networkId: string): Promise<{ keyId: string; address: string }> {
  return bus.request('signer.create_key', { merchantId, networkId, purpose: 'HOT', requestId: `test-hot-${randomUUID()}` }, 15_000);
}

export function items(toAddresses: string[], amount: (i: number) => bigint): BatchItem[] {
  return toAddresses.map((toAddress, i) => ({ withdrawalId: randomUUID(), toAddress, amount: amount(i).toString() }));
}
