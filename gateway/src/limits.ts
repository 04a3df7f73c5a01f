import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  type DocumentNode,
  GraphQLError,
  type GraphQLSchema,
  type ValidationContext,
  type ValidationRule,
  getNamedType,
  getNullableType,
  isLeafType,
  isListType,
} from 'graphql';
import { type ComplexityEstimatorArgs, getComplexity } from 'graphql-query-complexity';

/**
 * How many items an unpaginated list of objects can hold, as far as cost goes (docs/limits.md). A
 * list with `first`/`last` counts its page size instead; a `*Connection.nodes` list is multiplied
 * by its connection's page size; a list of scalars comes with its object. gateway/src/limits.spec.ts
 * fails when a list field of the supergraph has no entry here, so a new unpaginated list cannot
 * slip in at the price of one item.
 */
export const LIST_SIZES: Readonly<Record<string, number>> = {
  // Configured networks and coins: a handful each.
  'Query.networks': 50,
  'Network.coins': 50,
  'Address.coins': 50,
  'Merchant.balances': 50,
  'Query.collectionPolicies': 50,
  // One row per address and coin, read from the node: MAX_BALANCE_ADDRESSES (500, address
  // subgraph) x up to 10 coins a network. Priced at that, since each row may be a node call.
  'Query.walletBalances': 5000,
  'Query.withdrawalLimits': 50,
  'Query.reconciliation': 100,
  // MAX_AWAITING in the address subgraph (services/collection.ts).
  'Query.awaitingCollection': 500,
  'Merchant.apiKeys': 50,
  // MAX_ENDPOINTS_PER_MERCHANT in the merchant subgraph.
  'Merchant.webhookEndpoints': 20,
  // One per attempt: the default retry schedule makes at most ~20.
  'WebhookDelivery.attemptLog': 25,
  // A payment is paid by a few transfers; more are possible (unsolicited top-ups), so this is an
  // estimate, not a bound the subgraph enforces.
  'Payment.deposits': 20,
  // batchMaxSize can be set up to 1000: a batch is the largest fan-out of the API. This is what
  // makes Withdrawal.batch -> WithdrawalBatch.withdrawals -> batch ... multiply out of bounds.
  'WithdrawalBatch.withdrawals': 1000,
};

/** Size of a list whose field is not in LIST_SIZES (a spec keeps this from being used). */
export const DEFAULT_LIST_SIZE = 100;
/** Page size when neither the caller nor the schema gives one (the subgraphs' default). */
export const DEFAULT_PAGE = 50;

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxDirectives: number;
}

function pageSize(a: ComplexityEstimatorArgs): number | undefined {
  const paged = a.field.args.find((x) => x.name === 'first') ?? a.field.args.find((x) => x.name === 'last');
  if (!paged) return undefined;
  const given = a.args[paged.name] as unknown;
  if (typeof given === 'number') return Math.max(1, given);
  return typeof paged.defaultValue === 'number' ? paged.defaultValue : DEFAULT_PAGE;
}

/**
 * The most objects a field can return, itself and everything selected under it: the worst-case
 * size of the answer, and so of the rows and resolvers behind it.
 *
 * - a scalar or enum costs nothing (it comes with its object), except at the root, where each
 *   field is at least one subgraph request;
 * - an object costs 1 plus its selection;
 * - a list costs its size times (1 + the selection of one item): `first`/`last` when it has them,
 *   else its LIST_SIZES maximum; a `*Connection.nodes` list counts 1 here because its connection
 *   field multiplies it by the page size;
 * - a paged field returning a connection costs 1 plus page size times its selection; the rest of a
 *   connection (pageInfo) is free, so pagination adds no per-item charge;
 * - introspection is free so tooling keeps working (depth and tokens bound it instead).
 *
 * So `{ payments(first: 50) { nodes { id deposits { id } } } }` is 1 + 50 * (1 + 20 * 1) = 1051.
 */
function estimate(a: ComplexityEstimatorArgs): number {
  const { type, field, childComplexity } = a;
  if (type.name.startsWith('__') || field.name.startsWith('__')) return 0;
  const named = getNamedType(field.type);
  const root = type.name === 'Query' || type.name === 'Mutation' || type.name === 'Subscription';
  if (isLeafType(named)) return root ? 1 : 0;
  if (type.name.endsWith('Connection') && !isListType(getNullableType(field.type))) return 0;
  const list = isListType(getNullableType(field.type));
  const page = pageSize(a);
  if (list) {
    const size = page ?? (type.name.endsWith('Connection') ? 1 : (LIST_SIZES[`${type.name}.${field.name}`] ?? DEFAULT_LIST_SIZE));
    return size * (1 + childComplexity);
  }
  return 1 + (page ?? 1) * childComplexity;
}

/**
 * Cost of the operation that would run, with its variables (so `first: $n` costs what `$n` says)
 * and @skip/@include applied. Throws a BAD_USER_INPUT GraphQLError when the arguments cannot be
 * read (a bad variable).
 */
export function operationCost(schema: GraphQLSchema, document: DocumentNode, variables?: Record<string, unknown>, operationName?: string | null): number {
  try {
    return getComplexity({ schema, query: document, variables: variables ?? {}, operationName: operationName ?? undefined, estimators: [estimate] });
  } catch (err) {
    throw new GraphQLError(err instanceof Error ? err.message : 'cannot compute the query cost', { extensions: { code: 'BAD_USER_INPUT' } });
  }
}

/** The refusal of an operation whose cost is above the limit. */
export function costError(cost: number, maxCost: number): GraphQLError {
  return new GraphQLError(`query is too expensive: cost ${cost} exceeds the limit of ${maxCost}; ask for smaller pages or fewer nested lists`, {
    extensions: { code: 'BAD_USER_INPUT', reason: 'QUERY_TOO_COSTLY', cost, maxCost, http: { status: 400 } },
  });
}

function reporter(reason: string, what: string) {
  return (context: ValidationContext | null, error: GraphQLError) => {
    // graphql-armor words every refusal as a "Syntax Error"; ours says which limit it was.
    const detail = error.message.replace(/^Syntax Error: /, '');
    context?.reportError(new GraphQLError(`${what}: ${detail}`, { extensions: { code: 'BAD_USER_INPUT', reason } }));
  };
}

/**
 * Shape limits checked at validation, before any subgraph is asked: depth, aliases (each alias
 * re-runs a field, so thousands of them multiply work without deepening the query) and
 * directives. Rules from graphql-armor; their refusals are re-worded into our error codes.
 */
export function shapeRules(limits: Pick<QueryLimits, 'maxDepth' | 'maxAliases' | 'maxDirectives'>): ValidationRule[] {
  return [
    maxDepthRule({ n: limits.maxDepth, onReject: [reporter('QUERY_TOO_DEEP', 'query is too deep')], propagateOnRejection: false }),
    maxAliasesRule({ n: limits.maxAliases, onReject: [reporter('TOO_MANY_ALIASES', 'too many aliases')], propagateOnRejection: false }),
    maxDirectivesRule({ n: limits.maxDirectives, onReject: [reporter('TOO_MANY_DIRECTIVES', 'too many directives')], propagateOnRejection: false }),
  ] as ValidationRule[];
}

/**
 * graphql-js appends `Did you mean "x"?` to unknown field, argument, type and enum value errors:
 * with introspection off that would still hand out the schema one guess at a time.
 */
export function hideSuggestions(message: string): string {
  return message.replace(/\s*Did you mean [^?]*\?/g, '');
}
