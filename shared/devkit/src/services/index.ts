// Local services for `npm start` / `npm test` and tests: TCP probes, Postgres (the machine's or
// embedded), nats-server with JetStream, and child processes with prefixed, pretty output.
export { isTcpOpen, waitForTcp, freePort, hostPortOf, sleep } from './tcp';
export { pgAnswers, withPg, pgClient, redactUrl, type PgClient, type PgQueryResult } from './pg-client';
export {
  ensurePostgres,
  hydrateSymlinks,
  embeddedPackageDir,
  DEFAULT_DATABASE_URL,
  DEFAULT_EMBEDDED_PG_PORT,
  type EnsureServiceOptions,
  type EnsuredService,
} from './postgres';
export {
  ensureNats,
  startNatsServer,
  findNatsServer,
  DEFAULT_NATS_URL,
  DEFAULT_LOCAL_NATS_PORT,
  type NatsServerHandle,
  type StartNatsServerOptions,
} from './nats-server';
export { spawnManaged, formatLogLine, setPrefixWidth, colorEnabled, type ManagedProcess, type SpawnManagedOptions } from './managed-process';
export { aptInstall, findBinary } from './apt';
export { type EnsuredNats } from './nats-server';
export { type NatsCredentials, ALL_BUS_USERS, generateCredentials, loadOrCreateCredentials, natsServerConfig, hashPassword } from '@cpg/core/bus/nats-auth';
export { recordChildrenIn, reapRecordedChildren } from './child-processes';
export { startNatsCluster, type NatsClusterHandle, type StartNatsClusterOptions } from './nats-cluster';
export { startRpcFaultProxy, type RpcFaultProxy, type RpcFaultProxyOptions, type RpcFaultStats, type RpcFault, type RpcFaultRates } from './rpc-fault-proxy';
