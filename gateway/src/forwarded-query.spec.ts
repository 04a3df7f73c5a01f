import { type FieldNode, type FragmentDefinitionNode, Kind, type OperationDefinitionNode, parse } from 'graphql';
import { buildForwardedQuery } from './forwarded-query';

function forward(source: string, variableValues: Record<string, unknown> = {}, via?: string) {
  const doc = parse(source);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of doc.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  return buildForwardedQuery({
    fieldNodes: op.selectionSet.selections as FieldNode[],
    fragments,
    variableDefinitions: op.variableDefinitions ?? [],
    variableValues,
    via,
    target: { field: 'payment', arg: 'id', argType: 'ID!' },
  });
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

describe('buildForwardedQuery', () => {
  it('reads the entity under the wrapper with the aliases, fragments and variables the selection uses', () => {
    const f = forward(
      `subscription($id: ID, $skip: Boolean!, $unused: Int) {
         paymentUpdated(id: $id) { event p: payment { ...P deposits @skip(if: $skip) { id } } ... on PaymentUpdate { payment { status } } }
       }
       fragment P on Payment { id }
       fragment Unused on Payment { amount }`,
      { id: 'x', skip: true, unused: 3 },
      'payment',
    );
    expect(squash(f.query)).toBe(
      squash(`query SubscriptionEvent($key: ID!, $skip: Boolean!) {
        p: payment(id: $key) { ...P deposits @skip(if: $skip) { id } }
        payment: payment(id: $key) { status }
        _exists: payment(id: $key) { __typename }
      }
      fragment P on Payment { id }`),
    );
    expect(f.variables('pay-1')).toEqual({ skip: true, key: 'pay-1' });
    expect(f.probe).toBe('_exists');
  });

  it("forwards the subscription field's own selection when there is no wrapper, and never reuses the client's variable names", () => {
    const f = forward('subscription($key: ID!) { withdrawalUpdated(id: $key) { id _exists: status } }', { key: 'w' });
    expect(squash(f.query)).toBe(
      squash(`query SubscriptionEvent($_key: ID!) {
        withdrawalUpdated: payment(id: $_key) { id _exists: status }
        _exists: payment(id: $_key) { __typename }
      }`),
    );
    expect(f.variables('w-1')).toEqual({ _key: 'w-1' });
  });

  it('keeps a probe alias distinct from the entity aliases', () => {
    const f = forward('subscription { paymentUpdated(id: "a") { _exists: payment { id } } }', {}, 'payment');
    expect(f.probe).toBe('__exists');
  });
});
