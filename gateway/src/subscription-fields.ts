import { createHash, timingSafeEqual } from 'node:crypto';
import { type Bus, type EventData, envelopeSchema, eventSchemas, eventSubject } from '@cpg/core/bus';
import { AppError } from '@cpg/core/graphql';
import type { Logger } from '@cpg/core/logger';
import type { FieldNode, GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import { EventStream, SharedFeeds } from './event-stream';
import { type ForwardTarget, type ForwardedQuery, buildForwardedQuery } from './forwarded-query';
import { CURRENT_EVENT, type LiveEvent, type OperationContext } from './subscription-context';
import { paymentAccess, withdrawalTarget } from './subscription-projection';
import type { Rereads } from './subscription-reread';

/*
 * The live-field table: which subscription fields are served and which bus events feed them.
 * A field maps to a core NATS subject; each event re-reads the entity (subscription-reread.ts)
 * with the client's own selection and identity, so any supergraph field can be selected and any
 * replica can serve any subscriber (core subscribers of a subject also get what JetStream stores
 * under it; no consumers needed).
 *
 * - `paymentUpdated(id)`: subject `payment.updated.<id>`, events for that payment.
 * - `paymentUpdated(checkoutToken)`: the payment id is found with `checkout(token:)`; subject
 *   `payment.updated.<paymentId>`, events whose checkoutTokenHash matches the token.
 * - `withdrawalUpdated(id)`: subject `withdrawal.updated.<id>`; any message there triggers a
 *   re-read via `withdrawal(id:)`.
 *
 * Every subscriber is first sent the current state (event "current"), once listening has begun,
 * so a change published before the subscription reached this replica is never lost; after a NATS
 * reconnect every subscriber is sent it again (what was published meanwhile is not replayed).
 */

const sha256hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** A `payment.updated` message about `paymentId`, or undefined for anything else. */
function paymentUpdate(raw: unknown, paymentId: string): EventData<'payment.updated'> | undefined {
  const env = envelopeSchema.safeParse(raw);
  if (!env.success || env.data.type !== 'payment.updated') return undefined;
  const data = eventSchemas['payment.updated'].safeParse(env.data.data);
  return data.success && data.data.paymentId === paymentId ? data.data : undefined;
}

/**
 * Per subscriber: passes a payment's events in version order once each. A message repeated (an
 * outbox row published again) or overtaken by a newer one would only re-read a state the
 * subscriber already has; events without a version (from before versions) always pass.
 */
function newerOnly(): (e: EventData<'payment.updated'>) => boolean {
  let highest = 0;
  return (e) => {
    if (e.version === undefined) return true;
    if (e.version <= highest) return false;
    highest = e.version;
    return true;
  };
}

/** Feeds `paymentUpdated(id)`: the event name of each newer change of that payment. */
function paymentEvent(paymentId: string): (raw: unknown) => string | undefined {
  const newer = newerOnly();
  return (raw) => {
    const e = paymentUpdate(raw, paymentId);
    return e && newer(e) ? e.event : undefined;
  };
}

/** Feeds `paymentUpdated(checkoutToken)`: the event name, when the message is for that token's payment. */
function checkoutEvent(paymentId: string, token: string): (raw: unknown) => string | undefined {
  const tokenHash = Buffer.from(sha256hex(token));
  const newer = newerOnly();
  return (raw) => {
    const e = paymentUpdate(raw, paymentId);
    if (!e) return undefined;
    const given = Buffer.from(e.checkoutTokenHash);
    // The subject already names the payment; the hash guards against a token that was
    // reissued to another payment after the lookup.
    return given.length === tokenHash.length && timingSafeEqual(given, tokenHash) && newer(e) ? e.event : undefined;
  };
}

/** Feeds `withdrawalUpdated`: any message means "re-read it"; its `type`, when it has one, is the event name. */
function withdrawalEvent(raw: unknown): string {
  return typeof (raw as { type?: unknown })?.type === 'string' ? (raw as { type: string }).type : 'updated';
}

function subjectFor(type: string, key: string): string {
  try {
    return eventSubject(type, key);
  } catch {
    throw new AppError('BAD_USER_INPUT', `"${key}" is not a valid id`);
  }
}

function forwardFor(info: GraphQLResolveInfo, target: ForwardTarget, via?: string): ForwardedQuery {
  return buildForwardedQuery({
    fieldNodes: info.fieldNodes as FieldNode[],
    fragments: info.fragments,
    variableDefinitions: info.operation.variableDefinitions ?? [],
    variableValues: info.variableValues,
    via,
    target,
  });
}

/**
 * Subscribers of one subject share one core NATS subscription per process (SharedFeeds): each
 * message is decoded once and handed to every subscriber, whose own filter and re-read follow.
 */
export class LiveFields {
  private readonly feeds: SharedFeeds<unknown>;
  private active = 0;
  /** Each live stream with how to make its "current" event: for the re-read after a reconnect. */
  private readonly current = new Map<EventStream<LiveEvent>, () => LiveEvent>();

  constructor(
    private readonly bus: Bus,
    private readonly log: Logger,
    private readonly reads: Rereads,
  ) {
    this.feeds = new SharedFeeds<unknown>((subject, deliver, fail) => {
      const sub = this.bus.nc.subscribe(this.bus.namespaced(subject), {
        callback: (err, msg) => {
          if (err) {
            fail(err);
            return;
          }
          let raw: unknown;
          try {
            raw = msg.json();
          } catch {
            this.log.warn({ subject: msg.subject }, 'ignoring an undecodable event');
            return;
          }
          deliver(raw);
        },
      });
      return { close: () => sub.unsubscribe() };
    });
    void this.resyncOnReconnect();
  }

  /**
   * Pushes every live subscriber its entity's current state. Called after a NATS reconnect;
   * idempotent (a re-read sends the current state, however often).
   */
  resync(): number {
    for (const [stream, make] of this.current) stream.push(make());
    return this.current.size;
  }

  private async resyncOnReconnect(): Promise<void> {
    for await (const s of this.bus.nc.status()) {
      if (s.type !== 'reconnect') continue;
      const n = this.resync();
      this.log.warn({ subscribers: n }, 'nats reconnected: sending every live subscriber its current state');
    }
  }

  /** Subscribers listening on a NATS subject (their shares of the core subscriptions). */
  get listening(): number {
    return this.active;
  }

  /** Core NATS subscriptions open: one per subject with at least one subscriber. */
  get subjects(): number {
    return this.feeds.size;
  }

  /** graphql's subscribeFieldResolver: called once per subscribe, returns the field's event stream. */
  readonly subscribe: GraphQLFieldResolver<unknown, OperationContext> = (_root, args, ctx, info) => {
    switch (info.fieldName) {
      case 'paymentUpdated':
        return this.subscribePayment(args, ctx, info);
      case 'withdrawalUpdated':
        return this.subscribeWithdrawal(args as { id: string }, ctx, info);
      default:
        throw new AppError('BAD_USER_INPUT', `${info.fieldName} is not served as a subscription`);
    }
  };

  private listen(subject: string, stream: EventStream<LiveEvent>, accept: (raw: unknown) => string | undefined, make: (event: string) => LiveEvent) {
    const leave = this.feeds.listen(
      subject,
      (raw) => {
        const event = accept(raw);
        if (event === undefined) return;
        const id = (raw as { id?: unknown } | null)?.id;
        stream.push({ ...make(event), messageId: typeof id === 'string' ? id : undefined });
      },
      () => stream.end(new AppError('UNAVAILABLE', 'event feed interrupted; subscribe again')),
    );
    this.active++;
    this.current.set(stream, () => make(CURRENT_EVENT));
    stream.onClose(() => {
      this.active--;
      this.current.delete(stream);
      leave();
    });
  }

  /** Once listening (and the access check) is done: the state as it is now, before any event. */
  private sendCurrent(stream: EventStream<LiveEvent>): void {
    const make = this.current.get(stream);
    if (make) stream.push(make());
  }

  private async subscribePayment(args: { id?: string | null; checkoutToken?: string | null }, ctx: OperationContext, info: GraphQLResolveInfo) {
    const access = paymentAccess(args, ctx.identity);
    const stream = new EventStream<LiveEvent>();
    try {
      if (access.by === 'id') {
        const { id, target } = access;
        const forward = forwardFor(info, target, 'payment');
        // Listen before checking ownership so nothing published in between is missed.
        this.listen(subjectFor('payment.updated', id), stream, paymentEvent(id), (event) => ({ event, key: id, forward, stream }));
        await this.reads.ensureVisible(ctx, target, id, 'payment');
        this.sendCurrent(stream);
        return stream;
      }
      const { token, target } = access;
      const paymentId = await this.reads.checkoutPaymentId(ctx, token);
      const accept = checkoutEvent(paymentId, token);
      const forward = forwardFor(info, target, 'payment');
      this.listen(subjectFor('payment.updated', paymentId), stream, accept, (event) => ({ event, key: token, forward, stream }));
      this.sendCurrent(stream);
      return stream;
    } catch (err) {
      stream.end();
      throw err;
    }
  }

  private async subscribeWithdrawal(args: { id: string }, ctx: OperationContext, info: GraphQLResolveInfo) {
    const target = withdrawalTarget(ctx.identity);
    const forward = forwardFor(info, target);
    const stream = new EventStream<LiveEvent>();
    try {
      this.listen(subjectFor('withdrawal.updated', args.id), stream, withdrawalEvent, (event) => ({ event, key: args.id, forward, stream }));
      await this.reads.ensureVisible(ctx, target, args.id, 'withdrawal');
      this.sendCurrent(stream);
      return stream;
    } catch (err) {
      stream.end();
      throw err;
    }
  }
}
