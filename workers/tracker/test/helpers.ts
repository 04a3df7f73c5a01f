import { randomUUID } from 'node:crypto';
import { Bus, type Envelope, type EventData } from '@cpg/core/bus';
import { eventually, type TestEnv } from '@cpg/devkit/testing';

export type TransferEvent = EventData<'chain.transfer.seen'>;
export type Kind = 'seen' | 'confirmed' | 'reorged';

/** Everything the tracker published on chain.* subjects, as a consumer downstream sees it. */
export class EventLog {
  readonly transfers: { kind: Kind; id: string; data: TransferEvent }[] = [];
  readonly statuses: EventData<'chain.status'>[] = [];
  private stopConsumer?: () => Promise<void>;

  constructor(readonly bus: Bus) {}

  async start(durable = `test-${randomUUID().slice(0, 8)}`): Promise<void> {
    const c = await this.bus.consume({
      durable,
      types: ['chain.transfer.seen', 'chain.transfer.confirmed', 'chain.transfer.reorged', 'chain.status'],
      filter: 'chain.>',
      retryBaseMs: 50,
      handler: async (e: Envelope<any>) => {
        if (e.type === 'chain.status') this.statuses.push(e.data);
        else this.transfers.push({ kind: e.type.split('.').pop() as Kind, id: e.id, data: e.data });
      },
    });
    this.stopConsumer = () => c.stop();
  }

  async stop(): Promise<void> {
    await this.stopConsumer?.();
  }

  /** Resolves with the events of `kind` for the transaction once there is at least one. */
  async wait(kind: Kind, txHash: string, what: string = kind, timeoutMs = 15_000): Promise<TransferEvent[]> {
    return eventually(
      async () => {
        const found = this.of(kind, txHash);
        return found.length ? found : undefined;
      },
      what,
      timeoutMs,
    );
  }

  of(kind: Kind, txHash: string): TransferEvent[] {
    return this.transfers.filter((t) => t.kind === kind && t.data.txHash.toLowerCase() === txHash.toLowerCase()).map((t) => t.data);
  }
}

export async function testBus(env: TestEnv): Promise<Bus> {
  return Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'tracker-test', log: env.log });
}

export interface Registered {
  addressId: string;
  merchantId: string;
  address: string;
}

/** Publishes address.created as the address service would. */
export async function register(
  bus: Bus,
  address: string,
  opts: { merchantId?: string; type?: 'USER' | 'HOT' | 'COLD' | 'TOKENS_COLLECTOR'; networks: string[] },
): Promise<Registered> {
  const r = { addressId: randomUUID(), merchantId: opts.merchantId ?? randomUUID(), address };
  await bus.publish('address.created', { ...r, type: opts.type ?? 'USER', networks: opts.networks, coins: [] }, { id: randomUUID(), key: r.addressId });
  return r;
}
