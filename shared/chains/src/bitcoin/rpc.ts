import { ChainError, type RpcEndpointConfig, type RpcTransport } from '../types';

/** Bitcoin Core RPC error codes this family reacts to (src/rpc/protocol.h). */
export const RPC_INVALID_ADDRESS_OR_KEY = -5; // no such transaction / block
export const RPC_INVALID_PARAMETER = -8; // block height out of range
export const RPC_IN_WARMUP = -28;
export const RPC_METHOD_NOT_FOUND = -32601;
export const RPC_WALLET_NOT_FOUND = -18;
export const RPC_WALLET_ALREADY_LOADED = -35;
export const RPC_VERIFY_ALREADY_IN_CHAIN = -27;

/**
 * The node's error code when the node itself refused the request (an RPC error object), else
 * undefined: network failures and "no endpoint answered" carry no node verdict.
 */
export function rpcErrorCode(err: unknown): number | undefined {
  if (!(err instanceof ChainError)) return undefined;
  const own = (err as { code?: unknown }).code;
  if (typeof own === 'number') return own;
  const cause = err.cause as { code?: unknown } | undefined;
  if (cause && typeof cause === 'object' && !(cause instanceof Error) && typeof cause.code === 'number') return cause.code;
  return undefined;
}

/**
 * Endpoints for one named wallet (`<url>/wallet/<name>`): a node with several wallets loaded
 * refuses wallet calls on the root path, and a reused dev node may have more than ours.
 */
export function walletEndpoints(endpoints: RpcEndpointConfig[], wallet: string): RpcEndpointConfig[] {
  return endpoints.map((e) => ({ ...e, url: `${e.url.replace(/\/+$/, '')}/wallet/${encodeURIComponent(wallet)}` }));
}

type CallWithOptions = { call<T>(method: string, params: unknown[], opts: { maxAttempts: number }): Promise<T> };

/**
 * A call that must not be repeated (it pays): asks the pooled transport for a single attempt.
 * A retry after a lost answer would send the coins twice. Plain transports ignore the option.
 */
export function callOnce<T>(transport: RpcTransport, method: string, params: unknown[]): Promise<T> {
  return (transport as unknown as CallWithOptions).call<T>(method, params, { maxAttempts: 1 });
}
