import { randomUUID } from 'node:crypto';
import {
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
  buildClientSchema,
  getIntrospectionQuery,
  getNamedType,
  isEnumType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
} from 'graphql';
import { ERROR_CODES } from '@cpg/core/graphql';
import { gql } from '@cpg/devkit/testing';
import type { RunningGateway } from '@cpg/gateway/src/server';
import { type Stack, startStack } from './support/stack';

/**
 * Every argument of every query and mutation of the supergraph, read by introspection through
 * the gateway, driven with hostile values by a merchant key holding every scope: each answer
 * carries only codes of the closed list (never INTERNAL_SERVER_ERROR), a refused mutation writes
 * nothing, another merchant's rows are untouched, and the service still answers afterwards.
 * Values are varied one position at a time around a plausible baseline, so each variant tests
 * that one value.
 */
jest.setTimeout(180_000);

const MB = 1_000_000;
const EVM_ADDRESS = '0x2222222222222222222222222222222222222222';

let stack: Stack;
let gw: RunningGateway;
beforeAll(async () => {
  stack = await startStack();
  // The fuzzer sends about a thousand requests in a minute: the request-rate limit is not what it tests.
  gw = await stack.extraGateway({ RATE_LIMIT_REQUESTS: 1_000_000, ...({ RATE_LIMIT_COST: 1_000_000_000 } as object) });
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

interface Answer {
  status: number;
  codes: string[];
  data: Record<string, unknown> | null | undefined;
}

async function post(query: string, variables: Record<string, unknown>, token: string): Promise<Answer> {
  const res = await fetch(gw.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: { data?: Record<string, unknown> | null; errors?: { extensions?: { code?: unknown } }[] };
  try {
    body = JSON.parse(text);
  } catch {
    return { status: res.status, codes: [`HTTP_${res.status}_NOT_JSON`], data: undefined };
  }
  const codes = (body.errors ?? []).map((e) => (typeof e.extensions?.code === 'string' ? e.extensions.code : 'NO_CODE'));
  return { status: res.status, codes, data: body.data };
}

/** Ids of rows that belong to another merchant, by argument name. */
interface Foreign {
  paymentId: string;
  apiKeyId: string;
  webhookId: string;
  greyListId: string;
}

const STRING_HOSTILE = (): unknown[] => ['', 'a'.repeat(MB), '-1', '1e999', 'ü\u0000\ud800☃𝕏\u202e', "' or 1=1 --"];
const AMOUNT_HOSTILE = (): unknown[] => ['', '-1', '1e999', '0', '9'.repeat(90), '0.0000000000000000000000001', 'NaN', 1.5, '1'.repeat(MB)];
const INT_HOSTILE = (): unknown[] => [-1, 0, 2147483647, -2147483648, 2 ** 53, 1.5, '1'];
const JSON_HOSTILE = (): unknown[] => {
  let deep: unknown = 1;
  for (let i = 0; i < 200; i++) deep = [deep];
  return [deep, { big: 'x'.repeat(100_000) }, Array.from({ length: 10_000 }, (_, i) => i), { 'k\u0000': 'v\u0000' }, 'a'.repeat(MB), 1e308];
};

function baseline(type: GraphQLInputType, name: string, depth = 0): unknown {
  if (isNonNullType(type)) return baseline(type.ofType, name, depth);
  if (isListType(type)) return [baseline(type.ofType, name, depth)];
  if (isInputObjectType(type)) {
    // Required fields only: the variants add the optional ones one at a time.
    if (depth > 3) return {};
    return Object.fromEntries(
      Object.values(type.getFields())
        .filter((f) => isNonNullType(f.type) && f.defaultValue === undefined)
        .map((f) => [f.name, baseline(f.type, f.name, depth + 1)]),
    );
  }
  if (isEnumType(type)) return type.getValues()[0]!.value;
  switch (getNamedType(type).name) {
    case 'ID':
      return name === 'networkId' ? 'dev-evm' : name === 'coinId' ? 'dev-evm:ETH' : randomUUID();
    case 'String':
      return /address$/i.test(name)
        ? EVM_ADDRESS
        : name === 'url'
          ? 'http://127.0.0.1:9/hook'
          : name === 'token' || name === 'checkoutToken'
            ? 'x'.repeat(43)
            : 'fuzz';
    case 'Amount':
      return '1';
    case 'Int':
      return 1;
    case 'Boolean':
      return true;
    case 'DateTime':
      return new Date().toISOString();
    case 'JSON':
      return { a: 1 };
    default:
      return null;
  }
}

function hostile(type: GraphQLInputType, name: string, foreign: Foreign): unknown[] {
  const named = getNamedType(type);
  const out: unknown[] = [];
  if (!isNonNullType(type)) out.push(null);
  const inner = isNonNullType(type) ? type.ofType : type;
  if (isListType(inner)) {
    const item = inner.ofType as GraphQLInputType;
    out.push(
      Array.from({ length: 10_000 }, () => baseline(item, name)),
      [],
    );
  }
  if (isEnumType(named)) return [...out, 'NOT_A_VALUE', ''];
  if (!isScalarType(named)) return out;
  switch (named.name) {
    case 'ID':
      return [...out, ...STRING_HOSTILE(), randomUUID(), foreign.paymentId, foreign.apiKeyId, foreign.webhookId, foreign.greyListId, 'dev-evm', 'dev-evm:NOPE'];
    case 'String':
      return [...out, ...STRING_HOSTILE(), ...(/address$/i.test(name) ? ['T'.repeat(MB), `0x${'g'.repeat(40)}`, 'bc1qqqqqq'] : [])];
    case 'Amount':
      return [...out, ...AMOUNT_HOSTILE()];
    case 'Int':
      return [...out, ...INT_HOSTILE()];
    case 'DateTime':
      return [...out, '', 'yesterday', '9999-99-99T99:99:99Z', '+275760-09-13T00:00:00.001Z', 'a'.repeat(MB)];
    case 'JSON':
      return [...out, ...JSON_HOSTILE()];
    case 'Boolean':
      return [...out, 'true', 0];
    default:
      return out;
  }
}

interface Leaf {
  path: string[];
  type: GraphQLInputType;
  name: string;
}

function leavesOf(type: GraphQLInputType, path: string[], name: string, depth = 0): Leaf[] {
  const named = getNamedType(type);
  const here: Leaf = { path, type, name };
  if (!isInputObjectType(named) || depth > 3) return [here];
  // The input object as a whole gets null and a long list; its fields get the rest.
  return [here, ...Object.values(named.getFields()).flatMap((f) => leavesOf(f.type, [...path, f.name], f.name, depth + 1))];
}

function setAt(root: Record<string, unknown>, path: string[], value: unknown): Record<string, unknown> {
  const copy = structuredClone(root);
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null || Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
  return copy;
}

function typeRef(type: GraphQLInputType): string {
  return type.toString();
}

/** `id` of the row a mutation made, directly or one level down (payloads), to count distinct writes. */
function selectionOf(type: GraphQLNamedType): string {
  if (!isObjectType(type)) return '';
  // A payment allocates its deposit address: counted with the addresses.
  if (type.name === 'Payment') return ' { __typename id address { id } }';
  if (type.getFields().id) return ' { __typename id }';
  const holder = Object.values(type.getFields()).find((f) => {
    const t = getNamedType(f.type);
    return isObjectType(t) && t.getFields().id && f.args.length === 0;
  });
  return holder ? ` { __typename ${holder.name} { id } }` : ' { __typename }';
}

function idIn(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.id === 'string') return v.id;
  for (const inner of Object.values(v))
    if (inner && typeof inner === 'object' && typeof (inner as { id?: unknown }).id === 'string') return (inner as { id: string }).id;
  return undefined;
}

function operationOf(kind: 'query' | 'mutation', field: GraphQLField<unknown, unknown>): string {
  const vars = field.args.map((a) => `$${a.name}: ${typeRef(a.type)}`).join(', ');
  const args = field.args.map((a) => `${a.name}: $${a.name}`).join(', ');
  return `${kind}${vars ? `(${vars})` : ''} { ${field.name}${args ? `(${args})` : ''}${selectionOf(getNamedType(field.type))} }`;
}

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

type Merchant = Awaited<ReturnType<Stack['newMerchant']>>;

async function counts(m: Merchant) {
  const r = await gql(
    stack.url,
    `{ me { apiKeys { id revokedAt } webhookEndpoints { id } settings { paymentExpiryMinutes } }
       payments(first: 200) { nodes { id status } } addresses(first: 200) { nodes { id type } } withdrawals(first: 200) { nodes { id } }
       greyList(first: 200) { id } }`,
    {},
    m.secret,
  );
  if (!r.data) throw new Error(JSON.stringify(r.errors));
  return {
    createApiKey: r.data.me.apiKeys.length,
    revoked: r.data.me.apiKeys.filter((k: { revokedAt: string | null }) => k.revokedAt).length,
    createWebhookEndpoint: r.data.me.webhookEndpoints.length,
    createPayment: r.data.payments.nodes.length,
    cancelled: r.data.payments.nodes.filter((p: { status: string }) => p.status === 'CANCELLED').length,
    // The hot wallet and token collector are the gateway's own, allocated when first needed (by a read too).
    createAddress: r.data.addresses.nodes.filter((a: { type: string }) => a.type === 'USER' || a.type === 'COLD').length,
    requestWithdrawal: r.data.withdrawals.nodes.length,
    addToGreyList: r.data.greyList.length,
  };
}

describe('hostile input on every argument of the supergraph', () => {
  it('answers only stable user-facing codes, writes nothing when it refuses, and keeps serving', async () => {
    const attacker = await stack.newMerchant('Fuzzer');
    const victim = await stack.newMerchant('Victim');

    // The victim's rows, whose ids the attacker tries on every id argument.
    const vp = await gql(stack.url, 'mutation { createPayment(input: { coinId: "dev-evm:ETH", amount: "1" }) { id } }', {}, victim.secret);
    const vk = await gql(stack.url, 'mutation { createApiKey(input: { label: "v", scopes: [READ] }) { apiKey { id } } }', {}, victim.secret);
    const vw = await gql(stack.url, 'mutation { createWebhookEndpoint(input: { url: "http://127.0.0.1:9/victim" }) { endpoint { id } } }', {}, victim.secret);
    const vg = await gql(
      stack.url,
      `mutation { addToGreyList(input: { networkId: "dev-evm", address: "${EVM_ADDRESS}", action: REVIEW, reason: "victim note" }) { id } }`,
      {},
      victim.secret,
    );
    const foreign: Foreign = {
      paymentId: vp.data!.createPayment.id,
      apiKeyId: vk.data!.createApiKey.apiKey.id,
      webhookId: vw.data!.createWebhookEndpoint.endpoint.id,
      greyListId: vg.data!.addToGreyList.id,
    };
    const victimBefore = await counts(victim);
    const attackerBefore = await counts(attacker);

    const intro = await gql(gw.url, getIntrospectionQuery(), {}, attacker.secret);
    expect(intro.errors).toBeUndefined();
    const schema: GraphQLSchema = buildClientSchema(intro.data);

    const cases: { field: string; kind: 'query' | 'mutation'; query: string; variables: Record<string, unknown>; at: string }[] = [];
    for (const kind of ['query', 'mutation'] as const) {
      const root = kind === 'query' ? schema.getQueryType() : schema.getMutationType();
      for (const field of Object.values(root!.getFields())) {
        if (field.name.startsWith('_')) continue;
        const query = operationOf(kind, field);
        const base = Object.fromEntries(field.args.map((a) => [a.name, baseline(a.type, a.name)]));
        cases.push({ field: field.name, kind, query, variables: base, at: '(baseline)' });
        for (const arg of field.args) {
          for (const leaf of leavesOf(arg.type, [arg.name], arg.name)) {
            for (const value of hostile(leaf.type, leaf.name, foreign)) {
              cases.push({ field: field.name, kind, query, variables: setAt(base, leaf.path, value), at: leaf.path.join('.') });
            }
          }
        }
      }
    }

    const seen = new Map<string, number>();
    const bad: string[] = [];
    const succeeded = new Map<string, number>();
    const written = new Map<string, Set<string>>();
    let sent = 0;
    // Other callers keep being served while the hostile requests run.
    let normalOk = 0;
    let normalFailed = 0;
    let fuzzing = true;
    const normal = (async () => {
      while (fuzzing) {
        const r = await post('{ me { id } networks { id } }', {}, victim.secret);
        if (r.codes.length === 0 && (r.data?.me as { id?: string } | undefined)?.id === victim.id) normalOk++;
        else normalFailed++;
        await new Promise((res) => setTimeout(res, 50));
      }
    })();

    await pool(cases, 6, async (c) => {
      const r = await post(c.query, c.variables, attacker.secret);
      sent++;
      for (const code of r.codes.length ? r.codes : ['OK']) seen.set(code, (seen.get(code) ?? 0) + 1);
      const unstable = r.codes.filter((code) => !(ERROR_CODES as readonly string[]).includes(code));
      if (unstable.length) bad.push(`${c.kind} ${c.field} ${c.at}=${JSON.stringify(c.variables).slice(0, 160)} -> ${unstable.join(',')}`);
      const value = r.data?.[c.field];
      if (c.kind === 'mutation' && r.codes.length === 0 && value !== null && value !== undefined && value !== false) {
        succeeded.set(c.field, (succeeded.get(c.field) ?? 0) + 1);
        const id = idIn(value);
        if (id) written.set(c.field, (written.get(c.field) ?? new Set()).add(id));
        const address = (value as { address?: { id?: string } }).address?.id;
        if (address) written.set('paymentAddress', (written.get('paymentAddress') ?? new Set()).add(address));
      }
    });
    fuzzing = false;
    await normal;

    console.log(
      `fuzz: ${sent} requests over ${cases.length} variants of ${new Set(cases.map((c) => `${c.kind}.${c.field}`)).size} fields; codes seen: ${JSON.stringify(Object.fromEntries([...seen].sort()))}; ` +
        `accepted mutations: ${JSON.stringify(Object.fromEntries(succeeded))}; concurrent normal reads: ${normalOk} ok, ${normalFailed} failed; internal or unknown: ${bad.length}`,
    );
    expect(bad.slice(0, 20)).toEqual([]);

    // Refused mutations wrote nothing: each count moved exactly by the rows accepted mutations returned.
    const attackerAfter = await counts(attacker);
    const made = (...fields: string[]) => new Set(fields.flatMap((f) => [...(written.get(f) ?? [])])).size;
    const expected = {
      createApiKey: made('createApiKey'),
      createWebhookEndpoint: made('createWebhookEndpoint'),
      createPayment: made('createPayment'),
      createAddress: made('createAddress', 'registerColdWallet', 'paymentAddress'),
      requestWithdrawal: made('requestWithdrawal', 'refundPayment'),
      addToGreyList: made('addToGreyList'),
    };
    for (const [key, delta] of Object.entries(expected)) {
      expect({ key, delta: attackerAfter[key as keyof typeof expected] - attackerBefore[key as keyof typeof expected] }).toEqual({ key, delta });
    }
    // The victim's rows are untouched whatever the attacker sent with their ids.
    expect(await counts(victim)).toEqual(victimBefore);

    // Still responsive.
    const after = await gql(gw.url, '{ me { id } networks { id } }', {}, attacker.secret);
    expect(after.errors).toBeUndefined();
    expect(after.data.me.id).toBe(attacker.id);
    expect(normalFailed).toBe(0);
    expect(normalOk).toBeGreaterThan(0);
  });
});
