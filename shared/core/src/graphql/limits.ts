import {
  type DocumentNode,
  type GraphQLInputType,
  type GraphQLSchema,
  Kind,
  TypeInfo,
  getNamedType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  valueFromASTUntyped,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { AppError } from './errors';

/**
 * Input bounds of the public API, in one table (docs/limits.md lists them for API users). Every
 * String, ID, Amount, DateTime and JSON argument and input field, and every list, is checked on
 * the raw request values before any resolver runs, so no decoder, regex, database or chain codec
 * ever sees more than these sizes. A subgraph runs the check itself (the gateway only forwards),
 * so it holds whoever reaches the subgraph.
 */

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export interface StringLimit {
  max: number;
  /** Shape checked after the length (only ever on bounded input). */
  pattern?: RegExp;
  /** What API users read in docs/limits.md and in the error. */
  what: string;
}

export const STRING_LIMITS = {
  UUID: { max: 36, pattern: UUID, what: 'an id (UUID)' },
  /** Not shape-checked: an id that names none of the caller's keys (a prefix, say) is NOT_FOUND, like an unknown UUID. */
  API_KEY_ID: { max: 128, what: "an API key's id" },
  NETWORK_ID: { max: 64, what: 'a network id' },
  COIN_ID: { max: 128, what: 'a coin id ("<network>:<symbol>")' },
  ADDRESS: { max: 128, what: 'a blockchain address' },
  NAME: { max: 100, what: 'a name' },
  LABEL: { max: 200, what: 'a label' },
  DESCRIPTION: { max: 1000, what: 'a description' },
  URL: { max: 2048, what: 'a URL' },
  REASON: { max: 1000, what: 'a reason or note' },
  REFERENCE: { max: 200, what: "the merchant's own reference (orderId, customerId)" },
  IDEMPOTENCY_KEY: { max: 200, what: 'an idempotency key' },
  CURSOR: { max: 512, what: 'a page cursor' },
  CHECKOUT_TOKEN: { max: 128, what: 'a checkout token' },
  DECIMAL: { max: 100, what: 'a decimal number' },
  CURRENCY: { max: 16, what: 'a currency code' },
  WORD: { max: 64, what: 'a status or event name' },
  /** Fallbacks: an argument added without an entry below is still bounded. */
  STRING: { max: 1000, what: 'a text value' },
  ID: { max: 128, what: 'an id' },
} as const satisfies Record<string, StringLimit>;
export type StringLimitKind = keyof typeof STRING_LIMITS;

export const JSON_LIMITS = { maxBytes: 16 * 1024, maxDepth: 5 } as const;
export const LIST_LIMITS = { default: 100, 'CreateWebhookEndpointInput.events': 50, 'CreateApiKeyInput.scopes': 10 } as const;
/** Custom scalars that arrive as strings: their own parsers run only on input this short. */
export const SCALAR_LIMITS: Record<string, number> = { Amount: 100, DateTime: 64 };

/**
 * Exact schema coordinates ("Type.field.argument" or "InputType.field") whose name alone does not
 * say what they hold. Everything else is classified by name in `stringLimitOf`.
 */
const BY_COORDINATE: Record<string, StringLimitKind> = {
  'Query.network.id': 'NETWORK_ID',
  'Query.coin.id': 'COIN_ID',
  'Mutation.revokeApiKey.id': 'API_KEY_ID',
  'Query.checkout.token': 'CHECKOUT_TOKEN',
  'Subscription.paymentUpdated.checkoutToken': 'CHECKOUT_TOKEN',
  'Query.alerts.status': 'WORD',
  'CreateMerchantInput.name': 'NAME',
  'CreatePaymentInput.priceAmount': 'DECIMAL',
  'CreatePaymentInput.priceCurrency': 'CURRENCY',
  'UpdateMerchantSettingsInput.underpaymentTolerance': 'DECIMAL',
  'SetCollectionPolicyInput.maxFeeRatio': 'DECIMAL',
  'CreateWebhookEndpointInput.events': 'WORD',
};

const BY_NAME: Record<string, StringLimitKind> = {
  id: 'UUID',
  networkId: 'NETWORK_ID',
  coinId: 'COIN_ID',
  address: 'ADDRESS',
  toAddress: 'ADDRESS',
  name: 'NAME',
  label: 'LABEL',
  description: 'DESCRIPTION',
  url: 'URL',
  reason: 'REASON',
  note: 'REASON',
  orderId: 'REFERENCE',
  customerId: 'REFERENCE',
  idempotencyKey: 'IDEMPOTENCY_KEY',
  after: 'CURSOR',
  before: 'CURSOR',
  status: 'WORD',
};

/** The limit of a String/ID at `coordinate` (its last segment is the argument or field name). */
export function stringLimitOf(coordinate: string, scalar: 'String' | 'ID'): StringLimitKind {
  const exact = BY_COORDINATE[coordinate];
  if (exact) return exact;
  const name = coordinate.slice(coordinate.lastIndexOf('.') + 1);
  const byName = BY_NAME[name] ?? (/Id$/.test(name) && scalar === 'ID' ? 'UUID' : undefined);
  return byName ?? (scalar === 'ID' ? 'ID' : 'STRING');
}

export function listLimitOf(coordinate: string): number {
  return (LIST_LIMITS as Record<string, number>)[coordinate] ?? LIST_LIMITS.default;
}

function refuse(coordinate: string, message: string, details: Record<string, unknown> = {}): AppError {
  // 400 rather than Apollo's default 500 for errors raised before execution.
  return new AppError('BAD_USER_INPUT', message, { field: coordinate, ...details, http: { status: 400 } });
}

// Postgres text and jsonb cannot hold NUL; refusing it here keeps it from surfacing as a database error.
const hasNul = (s: string) => s.includes('\u0000');

export function checkString(coordinate: string, kind: StringLimitKind, value: string): void {
  const limit: StringLimit = STRING_LIMITS[kind];
  if (value.length > limit.max) throw refuse(coordinate, `${coordinate} is too long: at most ${limit.max} characters (${limit.what})`, { max: limit.max });
  if (hasNul(value)) throw refuse(coordinate, `${coordinate} must not contain NUL characters`);
  if (limit.pattern && !limit.pattern.test(value)) throw refuse(coordinate, `${coordinate} is not ${limit.what}`);
}

/**
 * JSON given as a variable or literal: size and depth on the raw value, walking at most
 * maxDepth + 1 levels, so a deeply nested value costs no more than a shallow one.
 */
export function checkJson(coordinate: string, value: unknown): void {
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes > JSON_LIMITS.maxBytes)
    throw refuse(coordinate, `${coordinate} is too large: at most ${JSON_LIMITS.maxBytes} bytes of JSON`, { max: JSON_LIMITS.maxBytes });
  const walk = (v: unknown, depth: number): void => {
    if (typeof v === 'string') {
      if (hasNul(v)) throw refuse(coordinate, `${coordinate} must not contain NUL characters`);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    if (depth >= JSON_LIMITS.maxDepth)
      throw refuse(coordinate, `${coordinate} is nested too deeply: at most ${JSON_LIMITS.maxDepth} levels`, { max: JSON_LIMITS.maxDepth });
    for (const [k, item] of Object.entries(v)) {
      if (hasNul(k)) throw refuse(coordinate, `${coordinate} must not contain NUL characters`);
      walk(item, depth + 1);
    }
  };
  walk(value, 0);
}

/** Checks one raw value against its input type. Values of the wrong type are left to coercion, which refuses them. */
export function checkInputValue(value: unknown, type: GraphQLInputType, coordinate: string): void {
  if (value === null || value === undefined) return;
  if (isNonNullType(type)) return checkInputValue(value, type.ofType, coordinate);
  if (isListType(type)) {
    if (!Array.isArray(value)) return checkInputValue(value, type.ofType, coordinate);
    const max = listLimitOf(coordinate);
    if (value.length > max) throw refuse(coordinate, `${coordinate} has too many items: at most ${max}`, { max });
    for (const item of value) checkInputValue(item, type.ofType, coordinate);
    return;
  }
  if (isInputObjectType(type)) {
    if (typeof value !== 'object' || Array.isArray(value)) return;
    const fields = type.getFields();
    for (const [name, field] of Object.entries(fields)) checkInputValue((value as Record<string, unknown>)[name], field.type, `${type.name}.${name}`);
    return;
  }
  if (!isScalarType(type)) return;
  if (type.name === 'JSON') return checkJson(coordinate, value);
  if (typeof value !== 'string') return;
  if (type.name === 'String' || type.name === 'ID') return checkString(coordinate, stringLimitOf(coordinate, type.name), value);
  const max = SCALAR_LIMITS[type.name] ?? STRING_LIMITS.STRING.max;
  if (value.length > max) throw refuse(coordinate, `${coordinate} is too long: at most ${max} characters`, { max });
  if (hasNul(value)) throw refuse(coordinate, `${coordinate} must not contain NUL characters`);
}

/**
 * Arguments built by the gateway from other subgraphs' answers, never by a client (their size is
 * the query planner's). Everything selected below `_entities` is the client's, though, with the
 * client's variables: a field reached through another subgraph (payments { merchant { ledger(coinId) } })
 * is checked like a top-level one.
 */
const INTERNAL_ARGUMENTS = new Set(['_entities.representations']);

/**
 * Every argument of every field in `document`, with `variables` as the client sent them,
 * against the limits above. Throws a BAD_USER_INPUT AppError naming the first offender.
 */
export function checkOperationInputs(schema: GraphQLSchema, document: DocumentNode, variables: Record<string, unknown> | undefined): void {
  const typeInfo = new TypeInfo(schema);
  const vars = variables ?? {};
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Argument(node) {
        const arg = typeInfo.getArgument();
        const field = typeInfo.getFieldDef();
        const parent = typeInfo.getParentType();
        if (!arg || !field || !parent) return;
        if (INTERNAL_ARGUMENTS.has(`${field.name}.${arg.name}`)) return;
        const raw = node.value.kind === Kind.VARIABLE ? vars[node.value.name.value] : valueFromASTUntyped(node.value, vars);
        checkInputValue(raw, arg.type, `${parent.name}.${field.name}.${arg.name}`);
      },
    }),
  );
}

/** Every coordinate the table classifies, for docs and the completeness spec. */
export function inputCoordinates(schema: GraphQLSchema): { coordinate: string; limit: string }[] {
  const out: { coordinate: string; limit: string }[] = [];
  const visitType = (type: GraphQLInputType, coordinate: string, seen: Set<string>) => {
    const named = getNamedType(type);
    let t: GraphQLInputType = type;
    while (isNonNullType(t) || isListType(t)) {
      if (isListType(t)) out.push({ coordinate, limit: `list, at most ${listLimitOf(coordinate)} items` });
      t = t.ofType;
    }
    if (isInputObjectType(named)) {
      if (seen.has(named.name)) return;
      seen.add(named.name);
      for (const [name, f] of Object.entries(named.getFields())) visitType(f.type, `${named.name}.${name}`, seen);
      return;
    }
    if (!isScalarType(named)) return;
    if (named.name === 'String' || named.name === 'ID') out.push({ coordinate, limit: stringLimitOf(coordinate, named.name) });
    else if (named.name === 'JSON') out.push({ coordinate, limit: `JSON, at most ${JSON_LIMITS.maxBytes} bytes and ${JSON_LIMITS.maxDepth} levels` });
    else if (SCALAR_LIMITS[named.name]) out.push({ coordinate, limit: `${named.name}, at most ${SCALAR_LIMITS[named.name]} characters` });
  };
  for (const root of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    if (!root) continue;
    for (const field of Object.values(root.getFields())) {
      if (field.name === '_entities' || field.name === '_service') continue;
      for (const arg of field.args) visitType(arg.type, `${root.name}.${field.name}.${arg.name}`, new Set());
    }
  }
  for (const type of Object.values(schema.getTypeMap())) {
    if (
      type.name.startsWith('__') ||
      isInputObjectType(type) ||
      !('getFields' in type) ||
      type === schema.getQueryType() ||
      type === schema.getMutationType() ||
      type === schema.getSubscriptionType()
    )
      continue;
    for (const field of Object.values(
      (type as { getFields(): Record<string, { name: string; args?: readonly { name: string; type: GraphQLInputType }[] }> }).getFields(),
    )) {
      for (const arg of field.args ?? []) visitType(arg.type, `${type.name}.${field.name}.${arg.name}`, new Set());
    }
  }
  return out;
}
