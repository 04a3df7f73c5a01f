// The connection service: pooled RPC transports for watchers and signers. Import from here; the
// other modules are split out so that their policies can be tested on their own.
export { createRpcPool } from './pool';
export { RpcError, RpcUnavailableError } from './errors';
export type { HealthChange, PoolHealth, RpcAnswer, RpcCallOptions, RpcPool, RpcPoolOptions } from './pool-api';
export { classifyFailure, describeFailure, isTransientRpcError, type FailureClass, type RpcFailure } from './classify';
export { backoffCeiling, backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
export { redactUrl } from './endpoint';
export type { EndpointHealth, EndpointState } from './health';
