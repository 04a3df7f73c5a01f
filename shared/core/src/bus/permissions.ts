import { type EventType, type RpcName, subjectPattern } from './messages';

/**
 * Who may say what on the bus: the one definition the NATS server's authorization config, the
 * table in docs/nats-permissions.md and the permission tests are generated from, so they cannot
 * drift. Each service connects as its own NATS user and may publish only the events it owns, ask
 * only the RPCs it needs, answer only its own RPCs and read only the events it consumes. A
 * compromised process can therefore forge nothing it does not own: chain events come only from
 * the tracker, payout batches only from the withdrawal subgraph, and only the signer answers
 * `signer.*`, asked only by the services named here.
 *
 * A consumer's durable name is bound to its filter subject in the permission (JetStream's
 * `CONSUMER.CREATE.<stream>.<durable>.<filter>`, which the server checks against the request), so a
 * service cannot widen its own consumer to read other services' events.
 */
export const SERVICE_NAMES = ['gateway', 'merchant', 'address', 'payment', 'withdrawal', 'compliance', 'tracker', 'signer', 'collector'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Tooling users: `monitor` reads everything and publishes nothing; `admin` (tests, operators' tools) is unrestricted. */
export const TOOL_USERS = ['monitor', 'admin'] as const;
export type BusUser = ServiceName | (typeof TOOL_USERS)[number];

export interface ConsumerGrant {
  durable: string;
  types: EventType[];
  /** Explicit filter (without namespace) when the consumer sets one; else derived from types as the Bus does. */
  filter?: string;
}

export interface ServiceBusRole {
  /** Event types it publishes (outbox relay or direct publish). */
  publishes: EventType[];
  /** Its durable JetStream consumers. */
  consumes: ConsumerGrant[];
  /** RPCs it answers (subscribes to, in a queue group). */
  answers: RpcName[];
  /** RPCs it asks. */
  asks: RpcName[];
  /** Core subscriptions to event subjects (without namespace), e.g. the gateway's live feeds. */
  listens: string[];
  /** NATS KV buckets it owns (without namespace). */
  kvBuckets: string[];
}

export const busRoles: Record<ServiceName, ServiceBusRole> = {
  gateway: {
    publishes: [],
    consumes: [],
    answers: [],
    asks: ['merchant.verify_api_key'],
    listens: ['payment.updated.*', 'withdrawal.updated.*'],
    // Replicas announce themselves here and each enforces its share of the rate limits.
    kvBuckets: ['gateway_replicas'],
  },
  merchant: {
    publishes: ['merchant.created', 'merchant.settings_updated', 'merchant.api_key_created', 'merchant.api_key_revoked'],
    consumes: [
      { durable: 'merchant-deposit-ledger', types: ['payment.deposit_ledger'] },
      { durable: 'merchant-withdrawal-ledger', types: ['withdrawal.ledger'] },
      { durable: 'merchant-collection-fee-ledger', types: ['collection.fee'] },
      { durable: 'merchant-cold-forward-ledger', types: ['collection.sweep_updated'] },
      { durable: 'merchant-webhooks', types: ['payment.updated'] },
      { durable: 'merchant-webhooks-withdrawals', types: ['withdrawal.updated'] },
      { durable: 'merchant-webhooks-compliance', types: ['compliance.alert'] },
      { durable: 'merchant-webhooks-cold-wallets', types: ['address.cold_wallet_updated'] },
    ],
    answers: ['merchant.verify_api_key', 'ledger.hold', 'ledger.balances'],
    asks: ['payment.snapshot', 'withdrawal.snapshot'],
    listens: [],
    kvBuckets: [],
  },
  address: {
    publishes: ['address.created', 'address.cold_wallet_updated', 'collection.policy_updated'],
    consumes: [
      { durable: 'address-merchant-settings', types: ['merchant.created', 'merchant.settings_updated'] },
      { durable: 'address-network-status', types: ['chain.status'] },
      { durable: 'address-sweeps', types: ['collection.sweep_updated'] },
      { durable: 'address-awaiting-collection', types: ['collection.awaiting_updated'] },
    ],
    answers: ['address.allocate', 'address.ensure_hot', 'address.describe', 'address.lookup'],
    // compliance.screen: a COLD wallet is a destination of funds, screened like a withdrawal's.
    asks: ['signer.account_xpub', 'signer.create_key', 'ledger.balances', 'compliance.screen'],
    listens: [],
    kvBuckets: [],
  },
  payment: {
    publishes: ['payment.updated', 'payment.deposit_ledger'],
    consumes: [
      { durable: 'payment-merchant-settings', types: ['merchant.created', 'merchant.settings_updated'] },
      { durable: 'payment-chain-transfers', types: ['chain.transfer.seen', 'chain.transfer.confirmed', 'chain.transfer.reorged'] },
      { durable: 'payment-compliance-holds', types: ['compliance.deposit_hold'] },
    ],
    answers: ['payment.snapshot'],
    asks: ['address.allocate'],
    listens: [],
    kvBuckets: [],
  },
  withdrawal: {
    publishes: ['withdrawal.updated', 'withdrawal.batch.ready', 'withdrawal.ledger'],
    consumes: [
      { durable: 'withdrawal-merchant-settings', types: ['merchant.created', 'merchant.settings_updated'] },
      { durable: 'withdrawal-batch-updates', types: ['withdrawal.batch.updated'] },
    ],
    answers: ['withdrawal.snapshot', 'withdrawal.verify_batch'],
    asks: ['ledger.hold', 'compliance.screen', 'address.ensure_hot', 'payment.snapshot'],
    listens: [],
    kvBuckets: [],
  },
  compliance: {
    publishes: ['compliance.alert', 'compliance.deposit_hold'],
    consumes: [{ durable: 'compliance-chain-transfers', types: ['chain.transfer.seen', 'chain.transfer.confirmed'] }],
    answers: ['compliance.screen'],
    asks: [],
    listens: [],
    kvBuckets: [],
  },
  tracker: {
    publishes: ['chain.transfer.seen', 'chain.transfer.confirmed', 'chain.transfer.reorged', 'chain.status'],
    consumes: [{ durable: 'tracker-watch-list', types: ['address.created'] }],
    answers: [],
    asks: [],
    listens: [],
    kvBuckets: ['tracker_leases'],
  },
  signer: {
    publishes: ['withdrawal.batch.updated'],
    consumes: [
      { durable: 'signer-withdrawal-batches', types: ['withdrawal.batch.ready'] },
      { durable: 'signer-hot-wallet-funding', types: ['chain.transfer.confirmed'] },
    ],
    answers: ['signer.account_xpub', 'signer.create_key', 'signer.collect_sign'],
    // What it signs is confirmed by the service that owns it: batches by the withdrawal subgraph,
    // sweep steps by the collector, destinations by the address subgraph.
    asks: ['withdrawal.verify_batch', 'collector.verify_step', 'address.lookup'],
    listens: [],
    kvBuckets: [],
  },
  collector: {
    publishes: ['collection.sweep_updated', 'collection.fee', 'collection.awaiting_updated'],
    consumes: [
      { durable: 'collector-addresses', types: ['address.created'] },
      { durable: 'collector-policies', types: ['collection.policy_updated'] },
      { durable: 'collector-cold-wallets', types: ['address.cold_wallet_updated'] },
      { durable: 'collector-holds', types: ['compliance.deposit_hold'] },
      { durable: 'collector-deposits', types: ['chain.transfer.confirmed'], filter: 'chain.*.transfer.confirmed.>' },
      { durable: 'collector-reorgs', types: ['chain.transfer.reorged'], filter: 'chain.*.transfer.reorged.>' },
    ],
    answers: ['collector.verify_step'],
    asks: ['signer.collect_sign', 'address.describe'],
    listens: [],
    kvBuckets: ['collector_leases'],
  },
};

/**
 * The filter a consumer of these types subscribes with: the types' common subject prefix (NATS
 * 2.9 allows one filter per consumer), as Bus.consume computes it.
 */
export function consumerFilter(types: readonly string[]): string {
  if (!types.length) throw new Error('a consumer needs at least one event type');
  const split = types.map((t) => subjectPattern(t).split('.'));
  const out: string[] = [];
  for (let i = 0; split.every((p) => i < p.length && p[i] === split[0]![i]); i++) out.push(split[0]![i]!);
  return out.length ? `${out.join('.')}.>` : '>';
}

/**
 * Who may ask any of `rpcs`: the services that list them in `asks`, and `admin` (operators' tools
 * and tests). A service answering these RPCs may publish replies only to their inboxes, and its
 * Bus refuses a request whose reply subject points anywhere else.
 */
export function askersOf(rpcs: readonly string[]): BusUser[] {
  const askers = SERVICE_NAMES.filter((s) => busRoles[s].asks.some((a) => rpcs.includes(a)));
  return [...askers, 'admin'];
}

/** Each service's replies to requests come back on its own inbox prefix, which only it may read. */
export function inboxPrefix(user: string): string {
  return `_INBOX_${user}`;
}

export function eventStreamName(namespace: string): string {
  return `${namespace.toUpperCase()}_EVENTS`;
}

export interface NatsPermissions {
  publish: { allow?: string[]; deny?: string[] };
  subscribe: { allow?: string[]; deny?: string[] };
  allowResponses: boolean;
}

/**
 * The NATS permissions of one service. `namespace` is the deployment's NATS_NAMESPACE, or `*` for
 * a server shared by many namespaces (the test suite's: each test file has its own); with `*` the
 * stream and bucket names can only be matched as whole tokens, so JetStream API subjects then
 * name any stream while every event and RPC subject stays exactly as narrow.
 */
export function permissionsOf(service: ServiceName, namespace: string): NatsPermissions {
  const role = busRoles[service];
  const any = namespace === '*';
  const stream = any ? '*' : eventStreamName(namespace);
  const ns = namespace;
  const publish = new Set<string>([
    '$JS.API.INFO',
    `$JS.API.STREAM.INFO.${stream}`,
    // Every process makes sure the event stream exists at start (Bus.connect); the name is fixed,
    // so this grants no other stream.
    `$JS.API.STREAM.CREATE.${stream}`,
  ]);
  const subscribe = new Set<string>([`${inboxPrefix(service)}.>`]);
  for (const type of role.publishes) publish.add(`${ns}.evt.${subjectPattern(type)}.*`);
  for (const name of role.asks) publish.add(`${ns}.rpc.${name}`);
  for (const name of role.answers) subscribe.add(`${ns}.rpc.${name}`);
  // Replies go only to the inboxes of the services allowed to ask (and the admin's tools). Never
  // `allow_responses`: it lets the asker pick the reply subject, so a compromised asker could make
  // the answering service publish anywhere with its rights (e.g. a JetStream purge of the stream).
  for (const asker of askersOf(role.answers)) publish.add(`${inboxPrefix(asker)}.>`);
  for (const subject of role.listens) subscribe.add(`${ns}.evt.${subject}`);
  for (const c of role.consumes) {
    const filter = c.filter ?? consumerFilter(c.types);
    publish.add(`$JS.API.CONSUMER.CREATE.${stream}.${c.durable}.${ns}.evt.${filter}`);
    publish.add(`$JS.API.CONSUMER.INFO.${stream}.${c.durable}`);
    publish.add(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${c.durable}`);
    publish.add(`$JS.ACK.${stream}.${c.durable}.>`);
  }
  for (const b of role.kvBuckets) {
    const bucket = any ? '*' : `${ns}_${b}`;
    const kvStream = any ? '*' : `KV_${bucket}`;
    publish.add(`$JS.API.STREAM.INFO.${kvStream}`);
    publish.add(`$JS.API.STREAM.CREATE.${kvStream}`);
    publish.add(`$JS.API.STREAM.MSG.GET.${kvStream}`);
    publish.add(`$JS.API.DIRECT.GET.${kvStream}`);
    publish.add(`$JS.API.DIRECT.GET.${kvStream}.>`);
    publish.add(`$KV.${bucket}.>`);
  }
  return { publish: { allow: [...publish] }, subscribe: { allow: [...subscribe] }, allowResponses: false };
}

/** The monitoring user sees every subject and may publish nothing (tests, operators' debugging). */
export function monitorPermissions(): NatsPermissions {
  return { publish: { deny: ['>'] }, subscribe: { allow: ['>'] }, allowResponses: false };
}

export interface BusUserEntry {
  user: BusUser;
  /** The password as the server stores it: a bcrypt hash, or the clear text for throwaway servers. */
  password: string;
  /** Absent: unrestricted (admin). */
  permissions?: NatsPermissions;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function list(values: string[] | undefined): string {
  return `[${(values ?? []).map(quote).join(', ')}]`;
}

function permissionsBlock(p: NatsPermissions, indent: string): string {
  const part = (name: string, rule: { allow?: string[]; deny?: string[] }) => {
    const rows = [rule.allow ? `allow: ${list(rule.allow)}` : '', rule.deny ? `deny: ${list(rule.deny)}` : ''].filter(Boolean);
    return `${indent}  ${name}: { ${rows.join(', ')} }`;
  };
  return [
    `${indent}permissions: {`,
    part('publish', p.publish),
    part('subscribe', p.subscribe),
    ...(p.allowResponses ? [`${indent}  allow_responses: true`] : []),
    `${indent}}`,
  ].join('\n');
}

/** The `authorization { users = [...] }` block of a nats-server config. */
export function authorizationBlock(users: BusUserEntry[]): string {
  const rows = users.map((u) => {
    const head = `    { user: ${quote(u.user)}, password: ${quote(u.password)}`;
    if (!u.permissions) return `${head} }`;
    return `${head},\n${permissionsBlock(u.permissions, '      ')}\n    }`;
  });
  return ['authorization {', '  users = [', rows.join(',\n'), '  ]', '}'].join('\n');
}

/** docs/nats-permissions.md: the table operators read, generated from busRoles. */
export function permissionsMarkdown(): string {
  const lines = [
    '# NATS users and permissions',
    '',
    '<!-- Generated from shared/core/src/bus/permissions.ts by `npm run docs:nats`; a test fails when it is stale. -->',
    '',
    'Each service connects to NATS as its own user (`NATS_USER`, `NATS_PASSWORD` or `NATS_PASSWORD_FILE`).',
    'The server refuses every publish and subscribe that is not listed here. `<ns>` is `NATS_NAMESPACE`',
    '(default `cpg`); events live under `<ns>.evt.`, request-reply under `<ns>.rpc.`; the event stream is',
    '`<NS>_EVENTS`. Every service may also read its own reply inbox `_INBOX_<user>.>`; a service that answers',
    'RPCs may publish replies only to the inboxes of the services that may ask them (and `admin`), never where a',
    'request says (no `allow_responses`). One way around publish rights remains in NATS itself: a pull request',
    '(`$JS.API.CONSUMER.MSG.NEXT`) names the subject its messages are delivered to, so a service can have events',
    'it may already consume delivered onto another subject; their content is not its choice, and every consumer',
    'and listener validates what it receives. `monitor` may subscribe to everything and',
    "publish nothing; `admin` is unrestricted and belongs to operators' tools only.",
    '',
    '| service | publishes events | consumes events (durable) | answers RPC | asks RPC | other |',
    '|---|---|---|---|---|---|',
  ];
  const cell = (xs: string[]) => (xs.length ? xs.map((x) => `\`${x}\``).join('<br>') : '–');
  for (const name of SERVICE_NAMES) {
    const r = busRoles[name];
    const other = [...r.listens.map((s) => `listens \`${s}\``), ...r.kvBuckets.map((b) => `KV bucket \`<ns>_${b}\``)];
    lines.push(
      `| ${name} | ${cell(r.publishes.map(subjectPattern))} | ${cell(r.consumes.map((c) => `${c.durable}: ${c.filter ?? consumerFilter(c.types)}`))} | ${cell(r.answers)} | ${cell(r.asks)} | ${other.length ? other.join('<br>') : '–'} |`,
    );
  }
  lines.push('', '## Who may ask whom', '', '| RPC | answered by | asked by |', '|---|---|---|');
  const rpcs = new Set<string>(SERVICE_NAMES.flatMap((s) => [...busRoles[s].answers, ...busRoles[s].asks]));
  for (const rpc of [...rpcs].sort()) {
    const by = (k: 'answers' | 'asks') => SERVICE_NAMES.filter((s) => (busRoles[s][k] as string[]).includes(rpc)).join(', ') || '–';
    lines.push(`| \`${rpc}\` | ${by('answers')} | ${by('asks')} |`);
  }
  lines.push('', '## Who may publish each event', '', '| event subject | published by | consumed by |', '|---|---|---|');
  const events = new Set<string>(SERVICE_NAMES.flatMap((s) => [...busRoles[s].publishes, ...busRoles[s].consumes.flatMap((c) => c.types)]));
  for (const e of [...events].sort()) {
    const pubs = SERVICE_NAMES.filter((s) => (busRoles[s].publishes as string[]).includes(e)).join(', ') || '–';
    const subs = SERVICE_NAMES.filter((s) => busRoles[s].consumes.some((c) => (c.types as string[]).includes(e))).join(', ') || '–';
    lines.push(`| \`${subjectPattern(e)}.<key>\` | ${pubs} | ${subs} |`);
  }
  lines.push('');
  return lines.join('\n');
}
