import { randomBytes } from 'node:crypto';
import type { GatewayConfig } from '@cpg/core/config';
import { type TestEnv, createTestEnv, gql } from '@cpg/devkit/testing';
import { type RunningGateway, startGateway } from '@cpg/gateway/src/server';
import { startMerchantSubgraph } from '@cpg/subgraph-merchant/src/server';
import { startAddressSubgraph } from '@cpg/subgraph-address/src/server';
import { startPaymentSubgraph } from '@cpg/subgraph-payment/src/server';
import { startWithdrawalSubgraph } from '@cpg/subgraph-withdrawal/src/server';
import { startComplianceSubgraph } from '@cpg/subgraph-compliance/src/server';
import type { RunningService } from '@cpg/core/http';
import { Bus } from '@cpg/core/bus';
import { type RunningSigner, type SignerOptions, type SignerStartConfig, startSignerWorker } from '@cpg/worker-signer/src/worker';

export type SubgraphName = 'merchant' | 'address' | 'payment' | 'withdrawal' | 'compliance';

/**
 * The whole supergraph on real Postgres and NATS: five subgraph servers and a gateway, each a
 * real HTTP server on its own port, in this test process (one per test file).
 */
export interface Stack {
  env: TestEnv;
  gateway: RunningGateway;
  subgraphs: Record<SubgraphName, RunningService>;
  /**
   * The test's own bus connection, as the NATS admin: it plays the services a test leaves out
   * (publishes chain events as the tracker would) and watches events. The services themselves run
   * as their own users, so this is the only connection allowed everything.
   */
  bus: Bus;
  /** Answers the address subgraph's key requests (account xpubs, hot and collector keys). */
  signer: RunningSigner;
  url: string;
  /** Starts one more gateway on the same subgraphs (e.g. with other limits). */
  extraGateway(overrides: Partial<GatewayConfig>): Promise<RunningGateway>;
  /** Operator call through the gateway. */
  operator<T = any>(query: string, variables?: Record<string, unknown>): ReturnType<typeof gql<T>>;
  /** Creates a merchant through the gateway; returns its id and first (all-scopes) key. */
  newMerchant(name?: string): Promise<{ id: string; secret: string; keyId: string }>;
  /**
   * Stops one subgraph and starts a fresh one on the same port, so the gateway's URLs stay valid:
   * a process restart as the gateway sees it. Replaces the entry in `subgraphs`.
   */
  restartSubgraph(name: SubgraphName, opts?: { whileDown?: () => Promise<void> }): Promise<RunningService>;
  stop(): Promise<void>;
}

/** Optional settings of the processes a stack runs (every field may be left out). */
export interface StackOptions {
  /** The withdrawal subgraph's own settings (COMPLIANCE_SCREENING, ...), over process.env; kept across restarts. */
  withdrawalEnv?: Record<string, string | undefined>;
  /** The signer's settings (e.g. WITHDRAWAL_POLL_MS) and options (e.g. the networks it pays on). */
  signerConfig?: Partial<SignerStartConfig>;
  signerOptions?: SignerOptions;
}

type Starter = (cfg: ReturnType<TestEnv['subgraphConfig']>, log: TestEnv['log']) => Promise<RunningService>;

function startersFor(opts: StackOptions, auth: (name: SubgraphName) => ReturnType<TestEnv['natsAuth']>): Record<SubgraphName, Starter> {
  const withdrawalEnv = opts.withdrawalEnv ? { ...process.env, ...opts.withdrawalEnv } : process.env;
  const starters: Record<SubgraphName, Starter> = {
    merchant: startMerchantSubgraph,
    address: startAddressSubgraph,
    payment: startPaymentSubgraph,
    withdrawal: (cfg, log) => startWithdrawalSubgraph(cfg, log, withdrawalEnv),
    compliance: startComplianceSubgraph,
  };
  // Each subgraph connects to NATS as its own user: the stack runs under the real permission table.
  return Object.fromEntries(
    Object.entries(starters).map(([name, start]) => [name, (cfg, log) => start({ ...cfg, ...auth(name as SubgraphName) }, log)]),
  ) as Record<SubgraphName, Starter>;
}

export async function startStack(gatewayOverrides: Partial<GatewayConfig> = {}, opts: StackOptions = {}): Promise<Stack> {
  const env = await createTestEnv();
  const cfg = env.subgraphConfig();
  const starters = startersFor(opts, (name) => env.natsAuth(name));
  // Sequential: they all migrate the same database; parallel is fine too but logs read better.
  const merchant = await starters.merchant(cfg, env.log);
  const [address, payment, withdrawal, compliance] = await Promise.all([
    starters.address(cfg, env.log),
    starters.payment(cfg, env.log),
    starters.withdrawal(cfg, env.log),
    starters.compliance(cfg, env.log),
  ]);
  // A fresh key-encryption key per environment: nothing sealed in one test run opens in another.
  const signer = await startSignerWorker(
    { ...env.workerConfig(), ...env.natsAuth('signer'), ...opts.signerConfig, KEY_ENCRYPTION_KEY: randomBytes(32).toString('hex'), KEY_ENCRYPTION_KEY_ID: 1 },
    env.log,
    opts.signerOptions,
  );
  const subgraphs = { merchant, address, payment, withdrawal, compliance };
  const urls = { merchant: merchant.url, address: address.url, payment: payment.url, withdrawal: withdrawal.url, compliance: compliance.url };
  const extra: RunningGateway[] = [];
  const gateway = await startGateway(env.gatewayConfig(urls, gatewayOverrides), env.log);
  const bus = await Bus.connect({ url: env.natsUrl, namespace: env.namespace, name: 'test-stack', log: env.log });
  const stack: Stack = {
    env,
    gateway,
    bus,
    subgraphs,
    signer,
    url: gateway.url,
    extraGateway: async (o) => {
      const g = await startGateway(env.gatewayConfig(urls, o), env.log);
      extra.push(g);
      return g;
    },
    operator: (query, variables) => gql(gateway.url, query, variables, env.operatorToken),
    newMerchant: async (name = 'Shop') => {
      const res = await gql(
        gateway.url,
        'mutation($n: String!) { createMerchant(input: { name: $n }) { merchant { id } apiKey { id } secret } }',
        { n: name },
        env.operatorToken,
      );
      if (!res.data) throw new Error(`createMerchant failed: ${JSON.stringify(res.errors)}`);
      const p = res.data.createMerchant;
      return { id: p.merchant.id, secret: p.secret, keyId: p.apiKey.id };
    },
    restartSubgraph: async (name, o = {}) => {
      const old = subgraphs[name];
      await old.stop();
      await o.whileDown?.();
      const fresh = await starters[name](env.subgraphConfig({ PORT: old.port }), env.log);
      (subgraphs as Record<SubgraphName, RunningService>)[name] = fresh;
      return fresh;
    },
    stop: async () => {
      for (const g of extra) await g.stop().catch(() => undefined);
      await gateway.stop().catch(() => undefined);
      await bus.close().catch(() => undefined);
      await Promise.all(Object.values(subgraphs).map((s) => s.stop().catch(() => undefined)));
      await signer.stop().catch(() => undefined);
      await env.cleanup();
    },
  };
  return stack;
}
