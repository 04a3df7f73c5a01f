import { buildSchema, parse, validate, specifiedRules } from 'graphql';
import { queryLimitsRule } from './limits';

const schema = buildSchema(`
  type Query { me: M!, items(first: Int = 50): Conn!, node: N }
  type M { id: ID!, name: String!, friends(first: Int = 10): Conn! }
  type Conn { nodes: [N!]! }
  type N { id: ID!, child: N }
`);

function errors(query: string, depth = 5, cost = 1000): string[] {
  return validate(schema, parse(query), [...specifiedRules, queryLimitsRule(depth, cost)]).map((e) => e.message);
}

describe('queryLimitsRule', () => {
  it('accepts a query within both limits', () => {
    expect(errors('{ me { id name } }')).toEqual([]);
  });

  it('refuses a query deeper than the limit and names both numbers', () => {
    const deep = '{ node { child { child { child { child { child { id } } } } } } }';
    expect(errors(deep)).toEqual([expect.stringContaining('depth 7 exceeds the limit of 5')]);
  });

  it('counts depth through fragments and inline fragments', () => {
    const q = 'query { node { ...A } } fragment A on N { child { ... on N { child { child { child { id } } } } } }';
    expect(errors(q).join()).toContain('too deep');
    expect(errors(q, 10)).toEqual([]);
  });

  it('multiplies nested pages: default, literal and variable page sizes', () => {
    // 1 + 50 * (1 + 1 * 1) = 101
    expect(errors('{ items { nodes { id } } }', 5, 100).join()).toContain('cost 101');
    expect(errors('{ items(first: 2) { nodes { id } } }', 5, 100)).toEqual([]);
    expect(errors('query($n: Int) { items(first: $n) { nodes { id } } }', 5, 150).join()).toContain('cost 201');
  });

  it('does not count introspection', () => {
    expect(errors('{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }', 3, 10)).toEqual([]);
  });

  it('does not loop on cyclic fragments (reported by the spec rule instead)', () => {
    const msgs = errors('{ node { ...A } } fragment A on N { child { ...A } }');
    expect(msgs.join()).toContain('Cannot spread fragment');
  });
});
