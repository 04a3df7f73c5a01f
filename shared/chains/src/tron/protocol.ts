import { createHash } from 'node:crypto';
import { ChainError, type RpcTransport } from '../types';

/**
 * Shapes of java-tron full-node HTTP answers (`visible: false`, i.e. hex addresses) as recorded
 * in shared/fixtures/tron, and the small protocol facts the watcher, signer and fake node share.
 * Protobuf default values (0, "", false) are OMITTED by the node's JSON printer, so every numeric
 * field is optional: a missing `number` is block 0, a missing `value` in a chain parameter is 0.
 */

export interface TronContractJson {
  type: string;
  parameter: { type_url: string; value: Record<string, unknown> };
  Permission_id?: number;
}

export interface TronRawDataJson {
  contract: TronContractJson[];
  ref_block_bytes: string;
  ref_block_hash: string;
  expiration: number;
  timestamp?: number;
  fee_limit?: number;
  data?: string;
}

export interface TronTransactionJson {
  txID: string;
  raw_data: TronRawDataJson;
  raw_data_hex: string;
  signature?: string[];
  ret?: { contractRet?: string; fee?: number }[];
  visible?: boolean;
}

export interface TronBlockHeaderRawJson {
  number?: number;
  txTrieRoot: string;
  witness_address: string;
  parentHash: string;
  version?: number;
  timestamp?: number;
}

export interface TronBlockJson {
  blockID?: string;
  block_header?: { raw_data: TronBlockHeaderRawJson; witness_signature?: string };
  transactions?: TronTransactionJson[];
}

export interface TronLogJson {
  /** 20-byte contract address WITHOUT the 0x41 version byte. */
  address: string;
  topics?: string[];
  data?: string;
}

export interface TronReceiptJson {
  /** Contract calls only: SUCCESS, REVERT, OUT_OF_ENERGY, ... Absent for plain TRX transfers. */
  result?: string;
  net_usage?: number;
  net_fee?: number;
  energy_usage?: number;
  energy_fee?: number;
  energy_usage_total?: number;
  origin_energy_usage?: number;
  energy_penalty_total?: number;
}

export interface TronTxInfoJson {
  id?: string;
  fee?: number;
  blockNumber?: number;
  blockTimeStamp?: number;
  contractResult?: string[];
  contract_address?: string;
  receipt?: TronReceiptJson;
  log?: TronLogJson[];
  /** "FAILED" when the contract call failed; absent on success. */
  result?: string;
  resMessage?: string;
  internal_transactions?: unknown[];
}

export interface TronBroadcastJson {
  result?: boolean;
  code?: string;
  txid?: string;
  /** Hex-encoded UTF-8 when the request was sent with `visible: false`. */
  message?: string;
}

export interface TronChainParametersJson {
  chainParameter?: { key: string; value?: number }[];
}

export interface TronAccountResourceJson {
  freeNetUsed?: number;
  freeNetLimit?: number;
  NetUsed?: number;
  NetLimit?: number;
  EnergyUsed?: number;
  EnergyLimit?: number;
  TotalNetLimit?: number;
  TotalNetWeight?: number;
  TotalEnergyLimit?: number;
  TotalEnergyWeight?: number;
}

export interface TronConstantCallJson {
  result?: { result?: boolean; code?: string; message?: string };
  energy_used?: number;
  energy_penalty?: number;
  constant_result?: string[];
  transaction?: { ret?: { ret?: string }[] };
}

/** keccak256("Transfer(address,address,uint256)"). */
export const TRC20_TRANSFER_TOPIC = 'ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
/** First 4 bytes of keccak256("transfer(address,uint256)"). */
export const TRC20_TRANSFER_SELECTOR = 'a9059cbb';

/**
 * java-tron charges bandwidth on the serialized Transaction (raw_data and signatures, `ret`
 * cleared) plus MAX_RESULT_SIZE_IN_TX = 64 bytes reserved for the result. Checked against the
 * recorded mainnet receipts: a 132-byte TRX raw_data -> 266 (net_fee 266000), a 211-byte USDT
 * transfer -> 345 (net_usage 345).
 */
export function bandwidthBytes(rawDataBytes: number, signatures = 1): number {
  const field = (len: number) => 1 + varintLength(len) + len;
  return field(rawDataBytes) + signatures * field(65) + 64;
}

function varintLength(n: number): number {
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    len++;
  }
  return len;
}

export function sha256Hex(hex: string): string {
  return createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex');
}

/** java-tron hex-encodes error messages when the request is not `visible`; decode when it is hex. */
export function decodeNodeMessage(message: string | undefined): string {
  if (!message) return '';
  if (/^(?:[0-9a-fA-F]{2})+$/.test(message)) {
    const text = Buffer.from(message, 'hex').toString('utf8');
    if (!text.includes('\uFFFD')) return text;
  }
  return message;
}

export function chainParameter(params: TronChainParametersJson, key: string): number | undefined {
  const entry = params.chainParameter?.find((p) => p.key === key);
  return entry ? (entry.value ?? 0) : undefined;
}

/** The ref-block fields a transaction built on `block` must carry (TaPoS): bytes 6..8 of the number, bytes 8..16 of the id. */
export function refBlockFields(blockID: string): { ref_block_bytes: string; ref_block_hash: string } {
  return { ref_block_bytes: blockID.slice(12, 16), ref_block_hash: blockID.slice(16, 32) };
}

/**
 * java-tron answers malformed requests with HTTP 200 and `{"Error": "..."}`; the transport only
 * sees valid JSON, so every caller checks for it.
 */
export function throwIfNodeError(path: string, json: unknown): void {
  if (json && typeof json === 'object' && 'Error' in json) {
    const message = String((json as { Error: unknown }).Error);
    throw new ChainError(`${path}: ${message}`, /timeout|busy|unavailable/i.test(message), json);
  }
}

/**
 * A POST to the full node's HTTP API that fails like every other chain call: a node error
 * (`{"Error": ...}`) or an answer that is not an object throws ChainError. Read-only or not as
 * the path is; callers retry only what is safe to repeat.
 */
export async function tronPost<T>(transport: Pick<RpcTransport, 'post'>, path: string, body: unknown): Promise<T> {
  const json = await transport.post<T>(path, body);
  throwIfNodeError(path, json);
  if (json === null || typeof json !== 'object') throw new ChainError(`${path}: unexpected answer ${JSON.stringify(json)}`, true);
  return json;
}

/**
 * True when an error says the node does not serve the path at all (HTTP 404/405), as opposed to
 * a node that is down or slow. The pooled transport wraps the HTTP failure in an "unavailable"
 * error, so the cause chain is searched.
 */
export function isMissingPath(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 6; depth++) {
    if (typeof e === 'object') {
      const f = e as { kind?: unknown; status?: unknown };
      if (f.kind === 'http' && (f.status === 404 || f.status === 405)) return true;
    }
    if (e instanceof Error && /\bHTTP 40[45]\b|answered 40[45]\b/.test(e.message)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

// --- minimal protobuf reading ---------------------------------------------------------------

type PbValue = bigint | Uint8Array;

/** First occurrence of field `fieldNo` in a protobuf message; varints as bigint, length-delimited as bytes. */
export function pbField(buf: Uint8Array, fieldNo: number): PbValue | undefined {
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('truncated protobuf varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('protobuf varint too long');
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    let value: PbValue;
    if (wire === 0) value = varint();
    else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new Error('truncated protobuf field');
      value = buf.subarray(pos, pos + len);
      pos += len;
    } else if (wire === 1) {
      pos += 8;
      continue;
    } else if (wire === 5) {
      pos += 4;
      continue;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
    if (no === fieldNo) return value;
  }
  return undefined;
}

/**
 * The exact `amount` of a TransferContract, read from raw_data_hex. JSON numbers above 2^53 lose
 * precision when parsed, and sun amounts of large TRX transfers can exceed that.
 * Transaction.raw.contract = 11, Contract.parameter = 2, Any.value = 2, TransferContract.amount = 3.
 */
export function transferAmountFromRawHex(rawDataHex: string): bigint | undefined {
  const raw = Buffer.from(rawDataHex, 'hex');
  const contract = pbField(raw, 11);
  if (!(contract instanceof Uint8Array)) return undefined;
  const any = pbField(contract, 2);
  if (!(any instanceof Uint8Array)) return undefined;
  const value = pbField(any, 2);
  if (!(value instanceof Uint8Array)) return undefined;
  const amount = pbField(value, 3);
  return typeof amount === 'bigint' ? amount : 0n;
}

/** Sun as bigint from a JSON number, falling back to the protobuf bytes when the number is not exact. */
export function exactSun(value: unknown, rawDataHex: string | undefined): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  if (value === undefined || !rawDataHex) return undefined;
  return transferAmountFromRawHex(rawDataHex);
}
