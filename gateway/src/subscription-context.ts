import type { GraphQLFormattedError } from 'graphql';
import { GraphQLError } from 'graphql';
import type { EventStream } from './event-stream';
import type { ForwardedQuery } from './forwarded-query';
import type { GatewayContext } from './signed-data-source';

/** One graphql-ws operation's context, built when the client subscribes (subscriptions.ts). */
export interface OperationContext extends GatewayContext {
  authorization: string | undefined;
  query: string;
  /** Who is charged for this operation, and what each of its reads costs (subscriptions: every event). */
  rateBucket?: string;
  cost?: number;
  /** Errors of the event being served (events are served one at a time per operation). */
  eventErrors?: readonly GraphQLFormattedError[];
}

/** One event for one subscriber: what changed, and how to re-read it as the subscriber asked. */
export interface LiveEvent {
  event: string;
  key: string;
  forward: ForwardedQuery;
  stream: EventStream<LiveEvent>;
  /** The message's envelope id, when it has one: subscribers reading it alike share one read. */
  messageId?: string;
  /** Retries of this event's re-read after a failed one (subscription-reread.ts). */
  attempt?: number;
}

/**
 * The event name of the state a subscriber is sent without a bus message behind it: first when
 * it subscribes (whatever happened before, even between its last read and the subscribe, it
 * starts from the current state) and again after the gateway's NATS connection comes back (core
 * NATS does not replay what was published while it was away).
 */
export const CURRENT_EVENT = 'current';

/** Codes that, on a re-read, mean "not yours or not there": the caller learns only NOT_FOUND. */
export const HIDDEN = new Set(['NOT_FOUND', 'FORBIDDEN']);

export function asGraphQLError(e: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(e.message, { extensions: e.extensions });
}

export function codeOf(e: { extensions?: Record<string, unknown> }): string | undefined {
  return typeof e.extensions?.code === 'string' ? e.extensions.code : undefined;
}
