// The address and payment subgraph schemas executed directly: auth comes first, entity references
// resolve only what is configured. (Withdrawal and compliance have their own tests now.)
// Executed directly against each built subgraph schema, without HTTP, Postgres or NATS (the
// address subgraph's database-backed services are stood in for by empty ones).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { type ExecutionResult, type GraphQLSchema, execute, parse } from 'graphql';
import { type ApiScope, AppError, type Identity, scalarResolvers } from '@cpg/core/graphql';
import { createLogger } from '@cpg/core/logger';
import { resolvers as addressResolvers } from '../src/resolvers';
import { resolvers as paymentResolvers } from '../../payment/src/resolvers';
import { Catalogue } from '../src/domain/catalogue';

const catalogue = new Catalogue({});
const created: unknown[] = [];
const addressServices = {
  // Collection is covered on real Postgres and anvil by collection.test.ts; here it stands empty.
  collection: {
    listPolicies: async () => [],
    listSweeps: async () => ({ nodes: [], pageInfo: { hasNextPage: false, endCursor: null } }),
    walletBalances: async () => [],
  },
  networkStatus: { of: async () => ({ available: false, scannedHeight: null, tipHeight: null, lagBlocks: null, updatedAt: null }) },
  addresses: {
    list: async () => ({ nodes: [], pageInfo: { hasNextPage: false, endCursor: null } }),
    findVisible: async () => null,
    createAddress: async (_caller: unknown, input: unknown) => {
      created.push(input);
      throw new AppError('UNAVAILABLE', 'stand-in');
    },
  },
};

const log = createLogger('t', 'silent');
const MERCHANT_ID = '7b0d6a4e-3c1f-4f7a-9a51-2f0e6f1c8d01';
const KEY_ID = '0f3c2b1a-9d8e-4c7b-a6f5-e4d3c2b1a098';

function build(name: string, resolvers: unknown): GraphQLSchema {
  const typeDefs = readFileSync(path.join(__dirname, '..', '..', name, 'schema.graphql'), 'utf8');
  return buildSubgraphSchema([{ typeDefs: parse(typeDefs), resolvers: { ...scalarResolvers, ...(resolvers as object) } as GraphQLResolverMap<unknown> }]);
}

const schemas = {
  address: build('address', addressResolvers),
  payment: build('payment', paymentResolvers),
};

const merchant = (scopes: ApiScope[] = ['READ']): Identity => ({ kind: 'merchant', merchantId: MERCHANT_ID, keyId: KEY_ID, scopes });

async function run(schema: GraphQLSchema, source: string, identity: Identity = merchant()): Promise<ExecutionResult> {
  return execute({ schema, document: parse(source), contextValue: { identity, requestId: 'x', log, catalogue, ...addressServices } });
}
const codeOf = (r: ExecutionResult) => r.errors?.[0]?.extensions?.code;
const emptyPage = { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };

describe('address subgraph', () => {
  const s = schemas.address;
  it('serves the configured networks and coins; nothing else exists yet', async () => {
    const r = await run(
      s,
      '{ networks { id } network(id: "bitcoin") { id family testnet confirmations nativeCoin { id decimals } status { available } } coin(id: "dev-evm:USDT") { symbol decimals contract minDeposit network { id } } addresses { nodes { id } pageInfo { hasNextPage endCursor } } sweeps { nodes { id } pageInfo { hasNextPage endCursor } } collectionPolicies { maxFeeRatio } walletBalances(networkId: "bitcoin") { onChain } }',
    );
    expect(r.errors).toBeUndefined();
    expect((r.data!.networks as { id: string }[]).map((n) => n.id)).toEqual(
      expect.arrayContaining(['bitcoin', 'litecoin', 'ethereum', 'bsc', 'polygon', 'arbitrum', 'tron', 'dev-evm', 'dev-ltc']),
    );
    expect(r.data).toMatchObject({
      network: {
        id: 'bitcoin',
        family: 'BITCOIN',
        testnet: false,
        confirmations: 2,
        nativeCoin: { id: 'bitcoin:BTC', decimals: 8 },
        status: { available: false },
      },
      coin: { symbol: 'USDT', decimals: 6, contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3', minDeposit: '0.01', network: { id: 'dev-evm' } },
      addresses: emptyPage,
      sweeps: emptyPage,
      collectionPolicies: [],
      walletBalances: [],
    });
  });
  it('validateAddress answers with the family codec', async () => {
    const r = await run(
      s,
      '{ ok: validateAddress(networkId: "ethereum", address: "0x52908400098527886e0f7030069857d2e4169ee7") { valid normalized reason } bad: validateAddress(networkId: "litecoin", address: "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4") { valid reason } }',
    );
    expect(r.errors).toBeUndefined();
    expect(r.data).toMatchObject({ ok: { valid: true, normalized: '0x52908400098527886E0F7030069857D2E4169EE7', reason: null }, bad: { valid: false } });
    expect((r.data!.bad as { reason: string }).reason).toBeTruthy();
  });
  it('address mutations need ADDRESSES_WRITE before anything is attempted', async () => {
    const op = 'mutation { createAddress(input: { networkId: "bitcoin" }) { id } }';
    expect(codeOf(await run(s, op))).toBe('FORBIDDEN');
    expect(created).toHaveLength(0);
    expect(codeOf(await run(s, op, merchant(['READ', 'ADDRESSES_WRITE'])))).toBe('UNAVAILABLE');
    expect(created).toEqual([{ networkId: 'bitcoin', type: 'USER' }]);
    expect(codeOf(await run(s, 'mutation { registerColdWallet(input: { networkId: "bitcoin", address: "x" }) { id } }'))).toBe('FORBIDDEN');
  });
  it('entity references resolve configured networks and coins only', async () => {
    const r = await run(
      s,
      '{ _entities(representations: [{ __typename: "Network", id: "bitcoin" }, { __typename: "Coin", id: "bitcoin:BTC" }, { __typename: "Coin", id: "bitcoin:DOGE" }, { __typename: "Address", id: "a" }]) { __typename } }',
    );
    expect(r.errors).toBeUndefined();
    expect(r.data).toEqual({ _entities: [{ __typename: 'Network' }, { __typename: 'Coin' }, null, null] });
  });
});

// The payment subgraph is real now: integration-tests/payments.test.ts covers it through the gateway.
describe('payment subgraph schema', () => {
  it('keeps the Subscription type in the schema', () => {
    expect(schemas.payment.getSubscriptionType()?.getFields().paymentUpdated).toBeDefined();
  });
});
