import { z } from 'zod';

/**
 * The catalogue of events on JetStream: one zod schema per event type. The event type is also
 * the subject's stem; an optional suffix (an entity id) may follow, e.g. `payment.updated.<id>`.
 * Later features add their events here, so producers and consumers share one definition.
 */
export const eventSchemas = {
  'merchant.created': z.object({ merchantId: z.string().uuid(), name: z.string() }),
  'merchant.settings_updated': z.object({ merchantId: z.string().uuid(), settings: z.record(z.unknown()) }),
  'merchant.api_key_created': z.object({ merchantId: z.string().uuid(), keyId: z.string().uuid(), scopes: z.array(z.string()) }),
  'merchant.api_key_revoked': z.object({ merchantId: z.string().uuid(), keyId: z.string().uuid() }),
} as const;

export type EventType = keyof typeof eventSchemas;
export type EventData<T extends EventType> = z.infer<(typeof eventSchemas)[T]>;

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

/**
 * Request-reply subjects (core NATS, never captured by a stream: a stream would answer a request
 * with its own publish ack). One request and one reply schema each.
 */
export const rpcSchemas = {
  'merchant.verify_api_key': {
    request: z.object({ secret: z.string().min(1).max(200) }),
    reply: z.discriminatedUnion('ok', [
      z.object({ ok: z.literal(true), merchantId: z.string().uuid(), keyId: z.string().uuid(), scopes: z.array(z.string()) }),
      z.object({ ok: z.literal(false), reason: z.string() }),
    ]),
  },
} as const;
export type RpcName = keyof typeof rpcSchemas;
export type RpcRequest<N extends RpcName> = z.infer<(typeof rpcSchemas)[N]['request']>;
export type RpcReply<N extends RpcName> = z.infer<(typeof rpcSchemas)[N]['reply']>;
