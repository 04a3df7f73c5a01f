import { classifyFailure, describeFailure, isTransientRpcError, type FailureClass, type RpcFailure } from './classify';

describe('isTransientRpcError', () => {
  it.each([
    [-32005, 'limit exceeded'],
    [-32005, 'anything at all: the code alone says so'],
    [-32603, 'request timed out'],
    [-32603, 'execution timeout'],
    [-32603, 'header not found'],
    [-32000, 'header not found'],
    [-32000, 'Timeout waiting for the backend'],
    [-28, 'Loading block index...'],
    [-32000, 'rate limit reached, retry in 1s'],
    [-32600, 'Rate-Limit exceeded'],
    [429, 'Too Many Requests'],
    [-32001, 'project ID request rate exceeded'],
  ])('%i %s -> transient', (code, message) => {
    expect(isTransientRpcError(code, message)).toBe(true);
  });

  it.each([
    [3, 'execution reverted: ERC20: transfer amount exceeds balance'],
    [-32000, 'execution reverted'],
    [-32000, 'nonce too low'],
    [-32000, 'already known'],
    [-32602, 'invalid params'],
    [-32601, 'the method debug_traceBlockByNumber does not exist/is not available'],
    [-32603, 'internal error'],
    [-5, 'No such mempool or blockchain transaction'],
    [-8, 'Block height out of range'],
    [-26, 'txn-mempool-conflict'],
    [-32700, 'Parse error'],
  ])('%i %s -> not transient', (code, message) => {
    expect(isTransientRpcError(code, message)).toBe(false);
  });
});

describe('classifyFailure', () => {
  const cases: [RpcFailure, FailureClass][] = [
    [{ kind: 'network', message: 'ECONNRESET' }, 'transient'],
    [{ kind: 'network', message: 'ECONNREFUSED' }, 'transient'],
    [{ kind: 'timeout', timeoutMs: 1000 }, 'transient'],
    [{ kind: 'http', status: 500 }, 'transient'],
    [{ kind: 'http', status: 502 }, 'transient'],
    [{ kind: 'http', status: 503 }, 'transient'],
    [{ kind: 'http', status: 504 }, 'transient'],
    [{ kind: 'http', status: 429 }, 'transient'],
    [{ kind: 'http', status: 408 }, 'transient'],
    [{ kind: 'http', status: 400 }, 'request'],
    [{ kind: 'http', status: 413 }, 'request'],
    [{ kind: 'http', status: 401 }, 'endpoint'],
    [{ kind: 'http', status: 403 }, 'endpoint'],
    [{ kind: 'http', status: 404 }, 'endpoint'],
    [{ kind: 'http', status: 301 }, 'endpoint'],
    [{ kind: 'invalid', reason: 'not JSON' }, 'endpoint'],
    [{ kind: 'invalid', reason: 'answer for another request id' }, 'endpoint'],
    [{ kind: 'rpc', code: -32000, message: 'execution reverted', status: 200 }, 'request'],
    [{ kind: 'rpc', code: -32602, message: 'invalid params' }, 'request'],
    [{ kind: 'rpc', code: -32005, message: 'limit exceeded', status: 200 }, 'transient'],
    [{ kind: 'rpc', code: -32603, message: 'header not found', status: 200 }, 'transient'],
    // Bitcoin Core: every RPC error comes with HTTP 500 (404 for unknown methods); the code decides.
    [{ kind: 'rpc', code: -5, message: 'Invalid or non-wallet transaction id', status: 500 }, 'request'],
    [{ kind: 'rpc', code: -32601, message: 'Method not found', status: 404 }, 'request'],
    [{ kind: 'rpc', code: -28, message: 'Loading block index...', status: 500 }, 'transient'],
    // Overload statuses win over whatever error body comes with them.
    [{ kind: 'rpc', code: -32000, message: 'busy', status: 503 }, 'transient'],
    [{ kind: 'rpc', code: -32600, message: 'slow down', status: 429 }, 'transient'],
  ];
  it.each(cases)('%j -> %s', (failure, expected) => {
    expect(classifyFailure(failure)).toBe(expected);
  });

  it('is pure: the same failure always gets the same class', () => {
    const failure: RpcFailure = { kind: 'rpc', code: -32603, message: 'timeout', status: 200 };
    expect(new Set(Array.from({ length: 5 }, () => classifyFailure(failure)))).toEqual(new Set(['transient']));
  });
});

describe('describeFailure', () => {
  it('says what happened in one line', () => {
    expect(describeFailure({ kind: 'timeout', timeoutMs: 250 })).toBe('timeout after 250 ms');
    expect(describeFailure({ kind: 'http', status: 502 })).toBe('HTTP 502');
    expect(describeFailure({ kind: 'rpc', code: -32000, message: 'execution reverted' })).toBe('execution reverted (-32000)');
    expect(describeFailure({ kind: 'network', message: 'ECONNRESET' })).toBe('network error: ECONNRESET');
    expect(describeFailure({ kind: 'invalid', reason: 'not JSON' })).toBe('invalid answer: not JSON');
  });
});
