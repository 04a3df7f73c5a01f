import {
  AckPolicy,
  DeliverPolicy,
  JSONCodec,
  RetentionPolicy,
  StorageType,
  connect,
  headers as natsHeaders,
  nanos,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type Subscription,
} from 'nats';
import type { Logger } from '../logger';
import { withLogContext } from '../logger';
import {
  type Envelope,
  type EventData,
  type EventInput,
  type EventType,
  type RpcName,
  type RpcReply,
  type RpcRequest,
  envelopeSchema,
  eventSchemas,
  rpcSchemas,
  subjectStem,
  validateEvent,
} from './messages';
import { askersOf, consumerFilter, eventStreamName, inboxPrefix } from './permissions';
import { countEvent } from '../http/counters';

const codec = JSONCodec();

/** Every event subject is `<type>.<key>`: the key (an entity id) lets consumers filter by entity. */
export function eventSubject(type: string, key: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new Error(`event key "${key}" must be one subject token`);
  return `${type}.${key}`;
}

/** Thrown by a handler for a message that can never succeed; it is terminated, not retried. */
export class PoisonMessageError extends Error {}

export interface BusOptions {
  url: string;
  /** Prefix of streams and subjects: one per deployment, one per test run. */
  namespace: string;
  name: string;
  log: Logger;
  /**
   * This service's NATS user and password (see permissions.ts). Absent: no credentials, which only
   * an unauthenticated server accepts. Credentials inside `url` (nats://user:pass@host) work too.
   */
  user?: string;
  pass?: string;
  /**
   * Copies of the event stream and of the KV buckets this process creates (NATS_REPLICAS): 3 on a
   * three-node cluster, so one node's loss loses no event and no lease. Default 1.
   */
  replicas?: number;
  /** How long connect() waits for JetStream to answer (a cluster electing its leader); default 60 s. */
  streamWaitMs?: number;
}

/**
 * Splits credentials out of NATS_URL: the client takes them as options, and logs must not show
 * them. A cluster is a comma-separated list (every node, so a process starting while one node is
 * down still connects); the credentials are the first URL's that has any.
 */
export function natsUrlParts(url: string): { server: string; servers: string[]; user?: string; pass?: string } {
  let user: string | undefined;
  let pass: string | undefined;
  const servers = url
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const u = new URL(part);
      if (u.username && user === undefined) {
        user = decodeURIComponent(u.username);
        pass = u.password ? decodeURIComponent(u.password) : undefined;
      }
      u.username = '';
      u.password = '';
      return u.toString().replace(/\/$/, '');
    });
  if (servers.length === 0) throw new Error('NATS_URL names no server');
  return { server: servers.join(','), servers, user, pass };
}

export interface ConsumerOptions<T extends EventType> {
  /** Durable name, unique per service and purpose: it survives restarts and holds the position. */
  durable: string;
  /**
   * Event types to receive. NATS 2.9 allows one filter per consumer, so the filter is the types'
   * common subject prefix and other types under it are acked unseen.
   */
  types: T[];
  /** Explicit subject filter (without namespace), e.g. `chain.dev-evm.>`; default from `types`. */
  filter?: string;
  /**
   * Called once per delivery. It must be idempotent (use applyOnce): a message is redelivered
   * when the process dies before acking. Returning acks; throwing naks with a growing delay;
   * PoisonMessageError (or a payload failing its schema) terminates the message.
   */
  handler: (event: Envelope<EventData<T>>, ctx: { subject: string; deliveryCount: number; log: Logger }) => Promise<void>;
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Base of the exponential nak delay; tests use a small one. */
  retryBaseMs?: number;
}

export interface RunningConsumer {
  stop(): Promise<void>;
}

/**
 * JetStream events and NATS request-reply with typed subjects. All subjects live under
 * `<namespace>.evt.` (events, in one stream) or `<namespace>.rpc.` (request-reply, no stream).
 */
export class Bus {
  private consumers: { stop(): Promise<void> }[] = [];
  private subs: Subscription[] = [];

  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly opts: BusOptions,
    /** Connected as a named user: every asker then has its own inbox prefix. */
    private readonly authenticated: boolean,
  ) {}

  /**
   * Connects (waiting for a server that is not up yet, reconnecting forever) and makes sure the
   * event stream exists. Safe to call from every process at start.
   */
  static async connect(opts: BusOptions): Promise<Bus> {
    const parts = natsUrlParts(opts.url);
    const user = opts.user ?? parts.user;
    const pass = opts.pass ?? parts.pass;
    const nc = await connect({
      servers: parts.servers,
      name: opts.name,
      ...(user ? { user, pass, inboxPrefix: inboxPrefix(user) } : {}),
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      waitOnFirstConnect: true,
      timeout: 5000,
    });
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect') opts.log.warn({ nats: s.type, data: String(s.data) }, `nats ${s.type}`);
        // The server refused something this process tried (a subject its user may not use): a bug
        // or a compromised process, never retried into success, so it is loud.
        if (s.type === 'error') opts.log.error({ nats: s.type, data: String(s.data) }, 'nats refused an operation');
      }
    })();
    const jsm = await nc.jetstreamManager({ timeout: 5000 });
    const bus = new Bus(nc, nc.jetstream({ timeout: 5000 }), jsm, opts, Boolean(user));
    // A cluster that is still electing its JetStream leader (all nodes just started, or the
    // leader's node was lost) answers 503 or nothing for a few seconds: wait it out, then fail.
    const deadline = Date.now() + (opts.streamWaitMs ?? 60_000);
    for (let attempt = 1; ; attempt++) {
      try {
        await bus.ensureStream();
        break;
      } catch (err) {
        if (Date.now() >= deadline || /permission/i.test((err as Error).message)) {
          await nc.close().catch(() => undefined);
          throw err;
        }
        opts.log.warn({ attempt, err: (err as Error).message }, 'jetstream not ready; retrying');
        await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 250 * attempt)));
      }
    }
    return bus;
  }

  /** Replica count for the stream and for KV buckets opened through this connection. */
  get replicas(): number {
    return this.opts.replicas ?? 1;
  }

  get streamName(): string {
    return eventStreamName(this.opts.namespace);
  }

  namespaced(subject: string): string {
    return `${this.opts.namespace}.evt.${subject}`;
  }

  rpcSubject(name: string): string {
    return `${this.opts.namespace}.rpc.${name}`;
  }

  async ensureStream(): Promise<void> {
    const config = {
      name: this.streamName,
      subjects: [`${this.opts.namespace}.evt.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      max_age: nanos(7 * 24 * 3600 * 1000),
      // JetStream drops a message whose id it has seen within this window: the relay's retries
      // after a lost ack are therefore harmless.
      duplicate_window: nanos(2 * 60 * 1000),
      num_replicas: this.replicas,
    };
    let existing: Awaited<ReturnType<JetStreamManager['streams']['info']>> | undefined;
    try {
      existing = await this.jsm.streams.info(this.streamName);
    } catch {
      existing = undefined;
    }
    if (existing) {
      // A deployment that grew from one node to a cluster: the stream gains its copies in place
      // (JetStream copies the messages to the new peers); it is never shrunk from here.
      if ((existing.config.num_replicas ?? 1) < this.replicas) {
        await this.jsm.streams.update(this.streamName, { ...existing.config, num_replicas: this.replicas });
        this.opts.log.info({ stream: this.streamName, replicas: this.replicas }, 'event stream replicas raised');
      }
    } else {
      try {
        await this.jsm.streams.add(config);
      } catch (err) {
        // Another process created it between our look and our add.
        if (!/already in use|exists/i.test((err as Error).message)) throw err;
      }
    }
  }

  /** Publishes a validated event directly (no outbox): for producers with no database state. */
  async publish<T extends EventType>(type: T, data: EventInput<T>, opts: { id: string; key: string }): Promise<void> {
    validateEvent(type, data);
    await this.publishEnvelope(eventSubject(subjectStem(type, data), opts.key), { id: opts.id, type, occurredAt: new Date().toISOString(), data });
  }

  /** Publishes with the envelope id as message id; JetStream dedups repeats. Throws if not stored. */
  async publishEnvelope(subject: string, envelope: Envelope): Promise<void> {
    const h = natsHeaders();
    h.set('Nats-Msg-Id', envelope.id);
    await this.js.publish(this.namespaced(subject), codec.encode(envelope), { msgID: envelope.id, headers: h, timeout: 5000 });
  }

  /** Starts a durable pull consumer; the handler runs one message at a time, in order. */
  async consume<T extends EventType>(opts: ConsumerOptions<T>): Promise<RunningConsumer> {
    const log = this.opts.log.child({ consumer: opts.durable });
    const filterSubject = this.namespaced(opts.filter ?? consumerFilter(opts.types));
    const wanted = new Set<string>(opts.types);
    const config = {
      durable_name: opts.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: filterSubject,
      max_deliver: opts.maxDeliver ?? 50,
      // Short: a message pulled by a process that died comes back after this long. Handlers are
      // database-fast; a slow one is only redelivered, which applyOnce makes harmless.
      ack_wait: nanos(opts.ackWaitMs ?? 10_000),
    };
    try {
      await this.jsm.consumers.info(this.streamName, opts.durable);
      await this.jsm.consumers.update(this.streamName, opts.durable, {
        filter_subject: filterSubject,
        max_deliver: config.max_deliver,
        ack_wait: config.ack_wait,
      });
    } catch {
      await this.jsm.consumers.add(this.streamName, config);
    }
    const consumer = await this.js.consumers.get(this.streamName, opts.durable);
    // A pull waits at most 10 s (heartbeats every 5 s): when the NATS node holding it dies, the
    // client notices the missed heartbeats and pulls again from another node within ~10 s, not
    // the default 30 (the fault suite saw address.created reach the tracker 28 s late).
    const messages = await consumer.consume({ max_messages: 16, expires: 10_000 });
    const base = opts.retryBaseMs ?? 1000;
    const state = { stopping: false };
    const done = (async () => {
      for await (const m of messages) {
        if (state.stopping) {
          // Already pulled but not handled: hand it back now, so the restarted process or another
          // replica takes it at once instead of after ack_wait.
          m.nak();
          continue;
        }
        const deliveryCount = m.info.redeliveryCount;
        let envelope: Envelope;
        try {
          const raw = envelopeSchema.parse(m.json());
          if (!wanted.has(raw.type)) {
            m.ack();
            continue;
          }
          const schema = eventSchemas[raw.type as EventType];
          if (!schema) throw new PoisonMessageError(`unknown event type ${raw.type}`);
          envelope = { ...raw, data: schema.parse(raw.data) } as Envelope;
        } catch (err) {
          log.error({ subject: m.subject, seq: m.seq, err: (err as Error).message }, 'poison message terminated: it does not match its schema');
          countEvent(`${this.opts.name}.bus.malformed`);
          m.term();
          continue;
        }
        await withLogContext({ subject: m.subject, messageId: envelope.id }, async () => {
          try {
            await opts.handler(envelope as Envelope<EventData<T>>, { subject: m.subject, deliveryCount, log });
            m.ack();
          } catch (err) {
            if (err instanceof PoisonMessageError) {
              log.error({ err: err.message }, 'poison message terminated by its handler');
              countEvent(`${this.opts.name}.bus.refused`);
              m.term();
              return;
            }
            const delay = Math.min(base * 2 ** Math.min(deliveryCount - 1, 10), 5 * 60_000);
            log.warn({ err: (err as Error).message, deliveryCount, retryInMs: delay }, 'handler failed; will retry');
            m.nak(delay);
          }
        });
      }
    })();
    const stop = async () => {
      state.stopping = true;
      await messages.close().catch(() => undefined);
      await done.catch(() => undefined);
    };
    this.consumers.push({ stop });
    return { stop };
  }

  /** Answers `name` requests; a queue group spreads them over replicas of the service. */
  reply<N extends RpcName>(name: N, handler: (req: RpcRequest<N>) => Promise<RpcReply<N>>, queue = name): void {
    const spec = rpcSchemas[name];
    const allowedReplyPrefixes = this.authenticated ? askersOf([name]).map((u) => `${inboxPrefix(u)}.`) : undefined;
    const sub = this.nc.subscribe(this.rpcSubject(name), {
      queue,
      callback: (err, msg) => {
        if (err) {
          // e.g. the server refused the subscription: this service may not answer `name`.
          this.opts.log.error({ rpc: name, err: err.message }, 'cannot answer rpc');
          return;
        }
        // On an authenticated bus a reply goes only to an allowed asker's inbox: the reply subject
        // is the asker's to choose, so anything else is an attempt to make this service publish
        // elsewhere with its rights. Refused without an answer.
        if (allowedReplyPrefixes && !allowedReplyPrefixes.some((p) => msg.reply?.startsWith(p))) {
          this.opts.log.error({ rpc: name, reply: msg.reply?.slice(0, 120) }, 'rpc request refused: its reply subject is not an asker inbox');
          countEvent(`${this.opts.name}.rpc.${name}.refused`);
          return;
        }
        void (async () => {
          try {
            const req = spec.request.parse(codec.decode(msg.data));
            const res = spec.reply.parse(await handler(req as RpcRequest<N>));
            msg.respond(codec.encode({ ok: true, body: res }));
          } catch (e) {
            this.opts.log.warn({ rpc: name, err: (e as Error).message }, 'rpc handler failed');
            countEvent(`${this.opts.name}.rpc.${name}.failed`);
            msg.respond(codec.encode({ ok: false, error: (e as Error).message }));
          }
        })();
      },
    });
    this.subs.push(sub);
  }

  /** Asks a service; throws on timeout, no responder, or a failed handler. */
  async request<N extends RpcName>(name: N, req: RpcRequest<N>, timeoutMs = 2000): Promise<RpcReply<N>> {
    const spec = rpcSchemas[name];
    const res = await this.nc.request(this.rpcSubject(name), codec.encode(spec.request.parse(req)), { timeout: timeoutMs });
    const body = codec.decode(res.data) as { ok: boolean; body?: unknown; error?: string };
    if (!body.ok) throw new Error(`rpc ${name} failed: ${body.error}`);
    return spec.reply.parse(body.body) as RpcReply<N>;
  }

  async close(): Promise<void> {
    for (const c of this.consumers) await c.stop();
    for (const s of this.subs) s.unsubscribe();
    await this.nc.drain().catch(() => this.nc.close());
  }

  /** Test helper: removes this namespace's stream. */
  async deleteStream(): Promise<void> {
    await this.jsm.streams.delete(this.streamName).catch(() => undefined);
  }
}
