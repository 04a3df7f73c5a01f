import { ChainError } from '../types';

/** A JSON-RPC error object answered by a node. `cause` is the node's raw `{code, message, data}`, as before the pool existed. */
export class RpcError extends ChainError {
  readonly code: number;
  readonly data: unknown;

  constructor(
    message: string,
    transient: boolean,
    rpcError: { code: number; message: string; data?: unknown },
    /** Redacted URL of the endpoint that answered. */
    readonly endpoint: string,
  ) {
    super(message, transient, rpcError);
    this.name = 'RpcError';
    this.code = rpcError.code;
    this.data = rpcError.data;
  }
}

/** Every usable endpoint failed or was skipped; always transient, since no node answered about the request itself. */
export class RpcUnavailableError extends ChainError {
  constructor(
    message: string,
    readonly attempts: { endpoint: string; error: string }[],
    cause?: unknown,
  ) {
    super(message, true, cause);
    this.name = 'RpcUnavailableError';
  }
}
