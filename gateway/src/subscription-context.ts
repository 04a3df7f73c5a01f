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
}

/** Codes that, on a re-read, mean "not yours or not there": the caller learns only NOT_FOUND. */
export const HIDDEN = new Set(['NOT_FOUND', 'FORBIDDEN']);

export function asGraphQLError(e: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(e.message, { extensions: e.extensions });
}

export function codeOf(e: { extensions?: Record<string, unknown> }): string | undefined {
  return typeof e.extensions?.code === 'string' ? e.extensions.code : undefined;
}
