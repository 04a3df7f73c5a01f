import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, getNamedType, getNullableType, isInterfaceType, isLeafType, isListType, isObjectType, parse, specifiedRules, validate } from 'graphql';
import { LIST_SIZES, hideSuggestions, operationCost, shapeRules } from './limits';

const schema = buildSchema(`
  type Query { me: M!, items(first: Int = 50): NConnection!, node: N, tags: [N!]!, batch: Batch }
  type M { id: ID!, name: String!, friends(first: Int = 10): NConnection! }
  type NConnection { nodes: [N!]! }
  type N { id: ID!, child: N, labels: [String!]! }
  type Batch { id: ID!, withdrawals: [W!]! }
  type W { id: ID!, batch: Batch }
`);

function errors(query: string, depth = 5, aliases = 10, directives = 10) {
  return validate(schema, parse(query), [...specifiedRules, ...shapeRules({ maxDepth: depth, maxAliases: aliases, maxDirectives: directives })]);
}
const messages = (query: string, depth?: number, aliases?: number) => errors(query, depth, aliases).map((e) => e.message);
const cost = (query: string, variables?: Record<string, unknown>) => operationCost(schema, parse(query), variables);

describe('shape limits', () => {
  it('accepts a query within every limit', () => {
    expect(messages('{ me { id name } }')).toEqual([]);
  });

  it('refuses a query deeper than the limit, with our code and reason', () => {
    const deep = '{ node { child { child { child { child { child { id } } } } } } }';
    const [e] = errors(deep);
    expect(e!.message).toContain('depth limit of 5 exceeded, found 7');
    expect(e!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'QUERY_TOO_DEEP' });
  });

  it('counts depth through fragments and inline fragments', () => {
    const q = 'query { node { ...A } } fragment A on N { child { ... on N { child { child { child { id } } } } } }';
    expect(messages(q).join()).toContain('depth limit');
    expect(messages(q, 10)).toEqual([]);
  });

  it('refuses more aliases than the limit, also when hidden in fragments', () => {
    const many = `{ ${Array.from({ length: 11 }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
    const [e] = errors(many);
    expect(e!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', reason: 'TOO_MANY_ALIASES' });
    const viaFragment = `query { ...F } fragment F on Query { ${Array.from({ length: 11 }, (_, i) => `a${i}: node { id }`).join(' ')} }`;
    expect(errors(viaFragment)[0]!.extensions.reason).toBe('TOO_MANY_ALIASES');
    expect(messages('{ a: me { id } b: me { name } }')).toEqual([]);
  });

  it('refuses more directives than the limit', () => {
    const many = `{ me { ${Array.from({ length: 11 }, (_, i) => `f${i}: id @include(if: true)`).join(' ')} } }`;
    const reasons = errors(many, 5, 100).map((e) => e.extensions.reason);
    expect(reasons).toEqual(['TOO_MANY_DIRECTIVES']);
  });
});

describe('operationCost', () => {
  it('multiplies nested pages: default, literal and variable page sizes', () => {
    // items: 1 (the connection) + 50 * nodes (1 per item; id comes with it)
    expect(cost('{ items { nodes { id } } }')).toBe(51);
    expect(cost('{ items(first: 2) { nodes { id } } }')).toBe(3);
    expect(cost('query($n: Int) { items(first: $n) { nodes { id } } }', { n: 7 })).toBe(8);
    // An omitted variable leaves the schema default.
    expect(cost('query($n: Int) { items(first: $n) { nodes { id } } }')).toBe(51);
    // Nested pages multiply: 1 + 50 * (1 + (1 + 10 * 1)).
    expect(cost('{ items { nodes { id } } me { friends { nodes { id } } } }')).toBe(51 + 1 + 11);
  });

  it('charges an unpaginated list of objects its documented (or default) size; scalars come with their object', () => {
    // tags is not in LIST_SIZES: the default of 100 items.
    expect(cost('{ tags { id } }')).toBe(100);
    expect(cost('{ node { labels } }')).toBe(1);
    expect(cost('{ me { id name } }')).toBe(1);
  });

  it('makes the cyclic batch <-> withdrawals nesting explode', () => {
    const q = '{ batch { withdrawals { batch { withdrawals { batch { withdrawals { id } } } } } } }';
    expect(cost(q)).toBeGreaterThan(1e6);
  });

  it('counts aliased copies of a field each time and honours @skip', () => {
    expect(cost('{ a: items(first: 10) { nodes { id } } b: items(first: 10) { nodes { id } } }')).toBe(22);
    expect(cost('query($s: Boolean!) { items(first: 10) @skip(if: $s) { nodes { id } } me { id } }', { s: true })).toBe(1);
  });

  it('does not count introspection', () => {
    expect(cost('{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }')).toBe(0);
  });

  it('a bad variable is the caller’s error', () => {
    expect(() => cost('query($n: Int) { items(first: $n) { nodes { id } } }', { n: 'x' })).toThrow(
      expect.objectContaining({ extensions: { code: 'BAD_USER_INPUT' } }),
    );
  });
});

describe('hideSuggestions', () => {
  it('drops field, argument and enum value suggestions', () => {
    expect(hideSuggestions('Cannot query field "nme" on type "M". Did you mean "name"?')).toBe('Cannot query field "nme" on type "M".');
    expect(hideSuggestions('Value "PAYD" does not exist in "S" enum. Did you mean the enum value "PAID"?')).toBe('Value "PAYD" does not exist in "S" enum.');
  });
});

describe('LIST_SIZES covers the supergraph', () => {
  const supergraph = buildSchema(readFileSync(join(__dirname, '..', 'supergraph.graphql'), 'utf8'));
  const unpaginated: string[] = [];
  for (const type of Object.values(supergraph.getTypeMap())) {
    if (type.name.startsWith('__') || !(isObjectType(type) || isInterfaceType(type)) || type.name.endsWith('Connection')) continue;
    for (const field of Object.values(type.getFields())) {
      const paged = field.args.some((a) => a.name === 'first' || a.name === 'last');
      if (isListType(getNullableType(field.type)) && !paged && !isLeafType(getNamedType(field.type))) unpaginated.push(`${type.name}.${field.name}`);
    }
  }

  it('every unpaginated list of objects has a documented size', () => {
    expect(unpaginated.filter((f) => LIST_SIZES[f] === undefined)).toEqual([]);
  });

  it('no size is left for a field that is gone', () => {
    expect(Object.keys(LIST_SIZES).filter((f) => !unpaginated.includes(f))).toEqual([]);
  });
});
