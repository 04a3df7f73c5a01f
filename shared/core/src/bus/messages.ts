import { z } from 'zod';
import { chainEvents } from './catalogue/chain';
import { collectionEvents } from './catalogue/collection';
import { complianceEvents } from './catalogue/compliance';
import { depositEvents } from './catalogue/deposits';
import { merchantEvents } from './catalogue/merchant';
import { paymentEvents } from './catalogue/payments';
import { rpcSchemas } from './catalogue/rpc';
import { withdrawalEvents } from './catalogue/withdrawals';

export * from './catalogue/common';
export * from './catalogue/merchant';
export * from './catalogue/payments';
export * from './catalogue/deposits';
export * from './catalogue/withdrawals';
export * from './catalogue/compliance';
export * from './catalogue/collection';
export { rpcSchemas };

/**
 * The catalogue of events on JetStream: one zod schema per event type, defined per domain in
 * ./catalogue. The event type is also the subject's stem; an optional suffix (an entity id) may
 * follow, e.g. `payment.updated.<id>`. Later features add their events there, so producers and
 * consumers share one definition. A schema stays able to read what an older producer may still
 * have in the stream (seven days): new fields are optional or a legacy branch translates.
 */
export const eventSchemas = {
  ...merchantEvents,
  ...chainEvents,
  ...paymentEvents,
  ...depositEvents,
  ...withdrawalEvents,
  ...complianceEvents,
  ...collectionEvents,
} as const;

/** Events whose subject carries the network after `chain.` so consumers can filter per network. */
export function subjectStem(type: string, data: unknown): string {
  if (type.startsWith('chain.')) {
    const network = (data as { network?: unknown })?.network;
    if (typeof network !== 'string' || !/^[a-z0-9-]+$/.test(network)) throw new Error(`${type} needs a network id`);
    return `chain.${network}.${type.slice('chain.'.length)}`;
  }
  return type;
}

/** The subject pattern of a type regardless of data (for consumer filters). */
export function subjectPattern(type: string): string {
  return type.startsWith('chain.') ? `chain.*.${type.slice('chain.'.length)}` : type;
}

export type EventType = keyof typeof eventSchemas;
export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>;
/** What a producer may write: differs from EventData where a schema still reads an older form. */
export type EventInput<T extends EventType> = z.input<(typeof eventSchemas)[T]>;

/** What travels on the wire: the outbox row id is the envelope id and the JetStream message id. */
export const envelopeSchema = z.object({
  id: z.string().min(1),
  type: z.string().min(1),
  occurredAt: z.string(),
  data: z.unknown(),
});
export type Envelope<D = unknown> = { id: string; type: string; occurredAt: string; data: D };

export class UnknownEventError extends Error {}

export function validateEvent<T extends EventType>(type: T, data: unknown): EventData<T> {
  const schema = eventSchemas[type];
  if (!schema) throw new UnknownEventError(`unknown event type ${type}`);
  return schema.parse(data) as EventData<T>;
}

export type RpcName = keyof typeof rpcSchemas;
export type RpcRequest<N extends RpcName> = z.infer<(typeof rpcSchemas)[N]['request']>;
export type RpcReply<N extends RpcName> = z.infer<(typeof rpcSchemas)[N]['reply']>;
