import { AppError, type Identity, requireMerchant } from '@cpg/core/graphql';
import type { GraphQLFieldResolver, GraphQLResolveInfo } from 'graphql';
import type { ForwardTarget } from './forwarded-query';
import { type LiveEvent, type OperationContext, asGraphQLError } from './subscription-context';

/**
 * Who may subscribe to a payment, and through which query field its events are re-read for them:
 * - by `id`: merchant keys with READ (and the operator), read via `payment(id:)`;
 * - by `checkoutToken`: anyone holding the token, read via `checkout(token:)`, so such callers
 *   (anonymous checkout pages) never reach merchant-only fields.
 */
export type PaymentAccess = { by: 'id'; id: string; target: ForwardTarget } | { by: 'token'; token: string; target: ForwardTarget };

/** Called once per `paymentUpdated` subscribe, before anything is listened to; throws when refused. */
export function paymentAccess(args: { id?: string | null; checkoutToken?: string | null }, identity: Identity): PaymentAccess {
  const { id, checkoutToken } = args;
  if ((id == null) === (checkoutToken == null)) throw new AppError('BAD_USER_INPUT', 'paymentUpdated takes exactly one of id and checkoutToken');
  if (id == null) return { by: 'token', token: checkoutToken!, target: { field: 'checkout', arg: 'token', argType: 'String!' } };
  if (identity.kind === 'anonymous') {
    throw new AppError('UNAUTHENTICATED', 'paymentUpdated(id) needs an API key in connectionParams.authorization; checkout pages subscribe by checkoutToken');
  }
  // The operator reads any payment; whether it may is the payment subgraph's call.
  if (identity.kind !== 'operator') requireMerchant(identity, 'READ');
  return { by: 'id', id, target: { field: 'payment', arg: 'id', argType: 'ID!' } };
}

/** Called once per `withdrawalUpdated` subscribe: merchant keys with READ and the operator, via `withdrawal(id:)`. */
export function withdrawalTarget(identity: Identity): ForwardTarget {
  if (identity.kind === 'anonymous') throw new AppError('UNAUTHENTICATED', 'withdrawalUpdated needs an API key in connectionParams.authorization');
  if (identity.kind !== 'operator') requireMerchant(identity, 'READ');
  return { field: 'withdrawal', arg: 'id', argType: 'ID!' };
}

const EVENT = Symbol('event');
const DATA = Symbol('data');

/** Per event: the subscription field's value, given the re-read's data. */
function eventValue(live: LiveEvent, data: Record<string, unknown>, info: GraphQLResolveInfo): unknown {
  if (info.fieldName === 'paymentUpdated') return { [EVENT]: live.event, [DATA]: data };
  return data[info.path.key as string];
}

/**
 * Where the field being resolved sits in the forwarded answer: the client's path, less the
 * subscription field when the entity sits under a wrapper (PaymentUpdate.payment).
 */
function forwardedPath(info: GraphQLResolveInfo): (string | number)[] {
  const keys: (string | number)[] = [];
  let wrapped = false;
  for (let p: GraphQLResolveInfo['path'] | undefined = info.path; p; p = p.prev) {
    keys.unshift(p.key);
    if (p.typename === 'PaymentUpdate') wrapped = true;
  }
  return wrapped ? keys.slice(1) : keys;
}

/** A null in the forwarded answer that an error explains gets that error, at the client's path. */
function pick(source: unknown, ctx: OperationContext, info: GraphQLResolveInfo): unknown {
  const value = (source as Record<string, unknown> | null)?.[info.path.key as string];
  if (value == null && ctx.eventErrors?.length) {
    const at = forwardedPath(info);
    const err = ctx.eventErrors.find((e) => at.every((k, i) => e.path?.[i] === k));
    if (err) throw asGraphQLError(err);
  }
  return value;
}

/**
 * graphql's field resolver for subscription events: the subscription field re-reads (via
 * `readEvent`), every field below it is handed back from that answer, which was read with the
 * client's own selection and aliases, so it is keyed by response key.
 */
export function projectingFieldResolver(
  readEvent: (live: LiveEvent, ctx: OperationContext, info: GraphQLResolveInfo) => Promise<Record<string, unknown>>,
): GraphQLFieldResolver<unknown, OperationContext> {
  return (source, _args, ctx, info) => {
    if (info.parentType === info.schema.getSubscriptionType()) {
      const live = source as LiveEvent;
      return readEvent(live, ctx, info).then((data) => eventValue(live, data, info));
    }
    if (info.parentType.name === 'PaymentUpdate') {
      const s = source as { [EVENT]: string; [DATA]: Record<string, unknown> };
      if (info.fieldName === 'event') return s[EVENT];
      if (info.fieldName === 'payment') return pick(s[DATA], ctx, info);
    }
    return pick(source, ctx, info);
  };
}
