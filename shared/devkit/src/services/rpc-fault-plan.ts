// The pure half of the RPC fault proxy: which fault each request gets (seeded, so a failing
// fault-injection run can be replayed), and the JSON-RPC bodies the faults answer with.
import { prng } from '../testing/prng';

export type RpcFault = 'drop' | 'delay' | 'timeout' | 'stale' | 'wrong';

/** Probability (0..1) of each fault per request; absent means 0. Their sum must not exceed 1. */
export interface RpcFaultRates {
  drop?: number;
  delay?: number;
  timeout?: number;
  stale?: number;
  wrong?: number;
}

export const RPC_FAULTS: readonly RpcFault[] = ['drop', 'delay', 'timeout', 'stale', 'wrong'];

/**
 * One request's fate. `variant` picks between the two forms of a fault: for `drop`, whether the
 * upstream handles the request before the socket dies (an answer lost on the way back, which is
 * what makes a broadcast look failed when it landed); for `wrong`, a 502 page instead of a
 * JSON-RPC error. It is drawn for every request so the stream stays aligned whatever the rates.
 */
export interface FaultDecision {
  fault: RpcFault | 'pass';
  variant: boolean;
}

export interface FaultPlan {
  /** Replaces the rates; called whenever a test changes the weather. Idempotent. Throws on rates out of range. */
  setRates(rates: RpcFaultRates): void;
  /** The next request's decision; called once per request, in arrival order. */
  next(): FaultDecision;
}

/** Checks and copies rates: each in 0..1, their sum at most 1 (one fault per request). */
export function normalizeRates(rates: RpcFaultRates): Required<RpcFaultRates> {
  const out = { drop: 0, delay: 0, timeout: 0, stale: 0, wrong: 0 };
  let sum = 0;
  for (const fault of RPC_FAULTS) {
    const rate = rates[fault] ?? 0;
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) throw new RangeError(`rpc fault rate ${fault}=${rate} is not within 0..1`);
    out[fault] = rate;
    sum += rate;
  }
  // A little slack so that rates like 0.1 * 10 are not refused for floating-point dust.
  if (sum > 1 + 1e-9) throw new RangeError(`rpc fault rates add up to ${sum}; one request gets one fault at most, so keep the sum <= 1`);
  return out;
}

/**
 * Decisions depend on the seed and the request's position only, never on its content, so the
 * same seed and the same request sequence always give the same faults.
 */
export function createFaultPlan(seed: number, rates: RpcFaultRates = {}): FaultPlan {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`rpc fault seed must be an integer, got ${seed}`);
  const random = prng(BigInt(seed));
  // 53 high bits of a 64-bit draw: a uniform double in [0, 1).
  const unit = () => Number(random.next64() >> 11n) / 2 ** 53;
  let current = normalizeRates(rates);
  return {
    setRates(next) {
      current = normalizeRates(next);
    },
    next() {
      const u = unit();
      const variant = unit() < 0.5;
      let edge = 0;
      for (const fault of RPC_FAULTS) {
        edge += current[fault];
        if (u < edge) return { fault, variant };
      }
      return { fault: 'pass', variant };
    },
  };
}

// ---- JSON-RPC bodies ----

export interface JsonRpcCall {
  id?: unknown;
  method?: unknown;
  params?: unknown;
}

export interface ParsedCalls {
  calls: JsonRpcCall[];
  batch: boolean;
}

/** The calls in a request body, or undefined when it is not a JSON-RPC object or array of objects. */
export function parseCalls(body: Buffer): ParsedCalls | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
  const isCall = (v: unknown): v is JsonRpcCall => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (Array.isArray(value)) return value.every(isCall) ? { calls: value, batch: true } : undefined;
  return isCall(value) ? { calls: [value], batch: false } : undefined;
}

/** Method names fit for a log line (never parameters: they can hold keys and signed transactions). */
export function methodNames(parsed: ParsedCalls | undefined): string {
  if (!parsed) return 'unparsed body';
  const names = parsed.calls.map((c) => (typeof c.method === 'string' && /^[\w.-]{1,64}$/.test(c.method) ? c.method : '?'));
  return names.length > 5 ? `${names.slice(0, 5).join(',')},+${names.length - 5}` : names.join(',');
}

// Calls whose answer moves with the chain head: the ones a lagging node answers from the past.
const HEAD_METHODS = new Set(['eth_blockNumber', 'getblockcount', 'getbestblockhash', 'getblockchaininfo']);

/** The memory key of a chain-head call, or undefined for any other call. */
export function headKey(call: JsonRpcCall): string | undefined {
  if (typeof call.method !== 'string') return undefined;
  const params = call.params ?? [];
  const isHead = HEAD_METHODS.has(call.method) || (call.method === 'eth_getBlockByNumber' && Array.isArray(params) && params[0] === 'latest');
  return isHead ? `${call.method} ${JSON.stringify(params)}` : undefined;
}

type JsonObject = Record<string, unknown>;
const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The last successful answer seen for each chain-head call. The proxy records what the upstream
 * answered and, for a `stale` request, replays it instead of asking again.
 */
export class HeadMemory {
  private readonly answers = new Map<string, JsonObject>();

  /** Called with every upstream answer the proxy relays; keeps the head calls' successful results. */
  record(parsed: ParsedCalls | undefined, status: number, responseBody: Buffer): void {
    if (!parsed || status !== 200) return;
    const keys = parsed.calls.map(headKey);
    if (!keys.some(Boolean)) return;
    let value: unknown;
    try {
      value = JSON.parse(responseBody.toString('utf8'));
    } catch {
      return;
    }
    const responses = parsed.batch ? (Array.isArray(value) ? value : []) : [value];
    parsed.calls.forEach((call, i) => {
      const key = keys[i];
      // A batch's answers may come in any order: match them by id.
      const response = parsed.batch ? responses.find((r) => isObject(r) && r.id === call.id) : responses[0];
      if (key && isObject(response) && response.result !== undefined && (response.error === undefined || response.error === null)) {
        this.answers.set(key, response);
      }
    });
  }

  /**
   * The stale answer body for a request made only of remembered head calls, each with the new
   * request's id; undefined otherwise (the request is then relayed untouched).
   */
  staleAnswer(parsed: ParsedCalls | undefined): Buffer | undefined {
    if (!parsed || parsed.calls.length === 0) return undefined;
    const answers: JsonObject[] = [];
    for (const call of parsed.calls) {
      const key = headKey(call);
      const remembered = key ? this.answers.get(key) : undefined;
      if (!remembered) return undefined;
      answers.push({ ...remembered, id: call.id ?? null });
    }
    return Buffer.from(JSON.stringify(parsed.batch ? answers : answers[0]));
  }
}

/** JSON-RPC "internal error", the code a node uses when it fails for reasons of its own. */
export const INJECTED_ERROR_CODE = -32603;

/** A JSON-RPC error for every call of the request (one for an unreadable body, with id null). */
export function rpcErrorBody(parsed: ParsedCalls | undefined): Buffer {
  const error = (id: unknown) => ({
    jsonrpc: '2.0',
    id: id ?? null,
    error: { code: INJECTED_ERROR_CODE, message: 'internal error (injected by rpc-fault-proxy)' },
  });
  if (!parsed || parsed.calls.length === 0) return Buffer.from(JSON.stringify(error(null)));
  return Buffer.from(JSON.stringify(parsed.batch ? parsed.calls.map((c) => error(c.id)) : error(parsed.calls[0].id)));
}
