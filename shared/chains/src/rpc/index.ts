// The connection service: pooled RPC transports for watchers and signers. Import from here; the
// other modules are split out so that their policies can be tested on their own.
export {
  createRpcPool,
  RpcError,
  RpcUnavailableError,
  type HealthChange,
  type PoolHealth,
  type RpcAnswer,
  type RpcCallOptions,
  type RpcPool,
  type RpcPoolOptions,
} from './pool';
export { classifyFailure, describeFailure, isTransientRpcError, type FailureClass, type RpcFailure } from './classify';
export { backoffCeiling, backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff';
export { redactUrl } from './endpoint';
export type { EndpointHealth, EndpointState } from './health';
