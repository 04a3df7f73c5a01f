import {
  type ASTVisitor,
  type FieldNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLNamedType,
  type GraphQLSchema,
  Kind,
  type SelectionSetNode,
  type ValidationContext,
  getNamedType,
  isInterfaceType,
  isObjectType,
} from 'graphql';

/** Page size assumed for a `first` given as a variable (not visible at validation time). */
const VARIABLE_PAGE = 100;

interface Walk {
  depth: number;
  cost: number;
}

/**
 * Depth and cost of an operation. Cost counts every field once, times the page size of each
 * enclosing list field that takes `first` (its literal, or its default): a query asking for 50
 * payments with 50 deposits each costs ~2,500, not 3. Introspection fields are free so tooling
 * keeps working.
 */
function walk(
  schema: GraphQLSchema,
  type: GraphQLNamedType | undefined,
  set: SelectionSetNode,
  fragments: Record<string, FragmentDefinitionNode>,
  seen: Set<string>,
): Walk {
  let depth = 0;
  let cost = 0;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) {
      if (sel.name.value.startsWith('__')) continue;
      const r = fieldWalk(schema, type, sel, fragments, seen);
      depth = Math.max(depth, r.depth);
      cost += r.cost;
    } else {
      const frag = sel.kind === Kind.INLINE_FRAGMENT ? sel : fragments[sel.name.value];
      if (!frag || (sel.kind === Kind.FRAGMENT_SPREAD && seen.has(sel.name.value))) continue;
      const nextSeen = sel.kind === Kind.FRAGMENT_SPREAD ? new Set([...seen, sel.name.value]) : seen;
      const cond = frag.typeCondition ? (schema.getType(frag.typeCondition.name.value) ?? type) : type;
      const r = walk(schema, cond, frag.selectionSet, fragments, nextSeen);
      depth = Math.max(depth, r.depth);
      cost += r.cost;
    }
  }
  return { depth, cost };
}

function fieldWalk(
  schema: GraphQLSchema,
  parent: GraphQLNamedType | undefined,
  field: FieldNode,
  fragments: Record<string, FragmentDefinitionNode>,
  seen: Set<string>,
): Walk {
  const def = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[field.name.value] : undefined;
  let multiplier = 1;
  const firstArg = def?.args.find((a) => a.name === 'first');
  if (firstArg) {
    const given = field.arguments?.find((a) => a.name.value === 'first');
    if (given?.value.kind === Kind.INT) multiplier = Math.max(1, Number(given.value.value));
    else if (given?.value.kind === Kind.VARIABLE) multiplier = VARIABLE_PAGE;
    else if (typeof firstArg.defaultValue === 'number') multiplier = firstArg.defaultValue;
  }
  if (!field.selectionSet) return { depth: 1, cost: 1 };
  const inner = walk(schema, def ? getNamedType(def.type) : undefined, field.selectionSet, fragments, seen);
  return { depth: inner.depth + 1, cost: 1 + multiplier * inner.cost };
}

export function queryLimitsRule(maxDepth: number, maxCost: number) {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const fragments: Record<string, FragmentDefinitionNode> = {};
      for (const d of context.getDocument().definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
      const schema = context.getSchema();
      const root = node.operation === 'query' ? schema.getQueryType() : node.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
      const { depth, cost } = walk(schema, root ?? undefined, node.selectionSet, fragments, new Set());
      if (depth > maxDepth) {
        context.reportError(
          new GraphQLError(`query is too deep: depth ${depth} exceeds the limit of ${maxDepth}`, {
            nodes: [node],
            extensions: { code: 'BAD_USER_INPUT', reason: 'QUERY_TOO_DEEP' },
          }),
        );
      }
      if (cost > maxCost) {
        context.reportError(
          new GraphQLError(`query is too expensive: cost ${cost} exceeds the limit of ${maxCost}; ask for smaller pages`, {
            nodes: [node],
            extensions: { code: 'BAD_USER_INPUT', reason: 'QUERY_TOO_COSTLY' },
          }),
        );
      }
    },
  });
}
