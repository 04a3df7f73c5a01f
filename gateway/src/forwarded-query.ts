import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  Kind,
  OperationTypeNode,
  type SelectionNode,
  type SelectionSetNode,
  type VariableDefinitionNode,
  parseType,
  print,
  visit,
} from 'graphql';

export interface ForwardTarget {
  /** Query field that reads the entity, e.g. `payment`, `checkout`, `withdrawal`. */
  field: string;
  /** Its one argument, e.g. `id` or `token`. */
  arg: string;
  /** The argument's type, e.g. `ID!`. */
  argType: string;
}

export interface ForwardedQuery {
  query: string;
  /** Variables of the query for one entity key. */
  variables(key: string): Record<string, unknown>;
  /** Alias under which the entity is always read (`{ __typename }`), to tell "gone" from "not selected". */
  probe: string;
}

/**
 * Turns the client's subscription selection into a query that reads the same entity the same way.
 * `via` names the field under the subscription's type that holds the entity (`payment` under
 * PaymentUpdate); without it the subscription field's own selection is the entity's. Aliases are
 * kept so the answer can be handed back as is; only the fragments and variables the selection uses
 * are carried over, since unused ones would fail validation.
 */
export function buildForwardedQuery(opts: {
  fieldNodes: readonly FieldNode[];
  fragments: Record<string, FragmentDefinitionNode>;
  variableDefinitions: readonly VariableDefinitionNode[];
  variableValues: Record<string, unknown>;
  via?: string;
  target: ForwardTarget;
}): ForwardedQuery {
  const { target } = opts;
  const taken = new Set(opts.variableDefinitions.map((d) => d.variable.name.value));
  let keyVar = 'key';
  while (taken.has(keyVar)) keyVar = `_${keyVar}`;

  const sources: FieldNode[] = [];
  if (!opts.via) sources.push(...opts.fieldNodes);
  else {
    const collect = (set: SelectionSetNode | undefined, seen: Set<string>) => {
      for (const sel of set?.selections ?? []) {
        if (sel.kind === Kind.FIELD) {
          if (sel.name.value === opts.via) sources.push(sel);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) collect(sel.selectionSet, seen);
        else if (!seen.has(sel.name.value)) collect(opts.fragments[sel.name.value]?.selectionSet, new Set([...seen, sel.name.value]));
      }
    };
    for (const f of opts.fieldNodes) collect(f.selectionSet, new Set());
  }

  const keyArg = [{ kind: Kind.ARGUMENT as const, name: name(target.arg), value: { kind: Kind.VARIABLE as const, name: name(keyVar) } }];
  const responseKeys = new Set(sources.map((f) => f.alias?.value ?? f.name.value));
  let probe = '_exists';
  while (responseKeys.has(probe)) probe = `_${probe}`;
  const selections: SelectionNode[] = sources.map((f) => ({
    kind: Kind.FIELD,
    alias: name(f.alias?.value ?? f.name.value),
    name: name(target.field),
    arguments: keyArg,
    // @skip/@include on the field itself are decided when the answer is shaped, not here.
    directives: [],
    selectionSet: f.selectionSet,
  }));
  selections.push({
    kind: Kind.FIELD,
    alias: name(probe),
    name: name(target.field),
    arguments: keyArg,
    directives: [],
    selectionSet: { kind: Kind.SELECTION_SET, selections: [{ kind: Kind.FIELD, name: name('__typename') }] },
  });
  const selectionSet: SelectionSetNode = { kind: Kind.SELECTION_SET, selections };

  const usedFragments = new Map<string, FragmentDefinitionNode>();
  const usedVariables = new Set<string>();
  const scan = (node: SelectionSetNode) => {
    visit(node, {
      Variable: (v) => {
        usedVariables.add(v.name.value);
      },
      FragmentSpread: (s) => {
        const def = opts.fragments[s.name.value];
        if (def && !usedFragments.has(s.name.value)) {
          usedFragments.set(s.name.value, def);
          scan(def.selectionSet);
        }
      },
    });
  };
  scan(selectionSet);
  usedVariables.delete(keyVar);

  const variableDefinitions: VariableDefinitionNode[] = [
    { kind: Kind.VARIABLE_DEFINITION, variable: { kind: Kind.VARIABLE, name: name(keyVar) }, type: parseType(target.argType) },
    ...opts.variableDefinitions.filter((d) => usedVariables.has(d.variable.name.value)),
  ];
  const document: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: [
      { kind: Kind.OPERATION_DEFINITION, operation: OperationTypeNode.QUERY, name: name('SubscriptionEvent'), variableDefinitions, selectionSet },
      ...usedFragments.values(),
    ],
  };
  const passed: Record<string, unknown> = {};
  for (const v of usedVariables) if (v in opts.variableValues) passed[v] = opts.variableValues[v];
  return { query: print(document), variables: (key) => ({ ...passed, [keyVar]: key }), probe };
}

function name(value: string) {
  return { kind: Kind.NAME as const, value };
}
