import { GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import { isAmountString } from '../money';
import { badInput } from './errors';

/**
 * Amount: a decimal string in whole coin units. Syntax is checked here; the number of decimals is
 * a property of the coin, so domain code checks that with `parseAmount(value, coin.decimals)`.
 * Inputs are never negative (only ledger entries show a "-"), and never JSON numbers: a float
 * has already lost precision by the time it reaches us.
 */
function parseAmountInput(value: unknown): string {
  if (typeof value !== 'string') throw badInput('Amount must be a decimal string such as "12.5", not a number');
  if (!isAmountString(value)) throw badInput(`"${value}" is not a valid Amount: use a decimal string such as "12.5" (no exponent, no sign, no spaces)`);
  if (value.startsWith('-')) throw badInput(`Amount "${value}" must not be negative`);
  return value;
}

export const AmountScalar = new GraphQLScalarType({
  name: 'Amount',
  description: 'Decimal string in whole coin units, exact to the coin decimals, e.g. "12.5"',
  serialize(value) {
    if (typeof value === 'string' && isAmountString(value)) return value;
    throw new TypeError(`Amount cannot serialize ${typeof value}: format bigint base units with formatAmount first`);
  },
  parseValue: parseAmountInput,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw badInput('Amount must be a decimal string such as "12.5", not a number');
    return parseAmountInput(ast.value);
  },
});

// Strict ISO-8601 with a time zone: ambiguity about local time is how payments expire early.
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
function parseDate(value: unknown): Date {
  if (typeof value !== 'string' || !ISO.test(value)) throw badInput('DateTime must be an ISO-8601 string with a time zone, e.g. "2026-01-31T12:00:00Z"');
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw badInput(`"${value}" is not a valid DateTime`);
  return d;
}

export const DateTimeScalar = new GraphQLScalarType({
  name: 'DateTime',
  description: 'ISO-8601 timestamp in UTC',
  serialize(value) {
    const d = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
    if (!d || Number.isNaN(d.getTime())) throw new TypeError('DateTime cannot serialize a non-date');
    return d.toISOString();
  },
  parseValue: parseDate,
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw badInput('DateTime must be an ISO-8601 string');
    return parseDate(ast.value);
  },
});

function literalToJson(ast: ValueNode, variables?: Record<string, unknown> | null): unknown {
  switch (ast.kind) {
    case Kind.STRING:
    case Kind.BOOLEAN:
      return ast.value;
    case Kind.INT:
    case Kind.FLOAT:
      return Number(ast.value);
    case Kind.NULL:
      return null;
    case Kind.LIST:
      return ast.values.map((v) => literalToJson(v, variables));
    case Kind.OBJECT:
      return Object.fromEntries(ast.fields.map((f) => [f.name.value, literalToJson(f.value, variables)]));
    case Kind.VARIABLE:
      return variables?.[ast.name.value];
    default:
      throw badInput('unsupported JSON literal');
  }
}

export const JSONScalar = new GraphQLScalarType({
  name: 'JSON',
  description: 'Any JSON value',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: literalToJson,
});

export const scalarResolvers = { Amount: AmountScalar, DateTime: DateTimeScalar, JSON: JSONScalar };
