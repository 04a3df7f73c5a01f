import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TronAccountResourceJson, TronTransactionJson, TronTxInfoJson } from '@cpg/chains/tron/protocol';
import { broadcast } from './broadcast-checks';
import { type ChainState, FAKE_TOTAL_ENERGY_LIMIT, FAKE_TOTAL_ENERGY_WEIGHT } from './chain-state';
import { hexMessage, word } from './wire';

// java-tron's HTTP API (`visible: false`) as the watcher and signer use it, answered from the
// chain state. Like the node, requests it cannot process get HTTP 200 with an Error field, and
// zero values are left out of answers, as its protobuf JSON printer does.

export interface HttpSide {
  /** Requests served, by path. */
  calls: Map<string, number>;
  /** Paths answered with 404. */
  disabled: Set<string>;
}

/** Called per HTTP request the fake node receives. */
export async function handleRequest(chain: ChainState, http: HttpSide, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  http.calls.set(path, (http.calls.get(path) ?? 0) + 1);
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: Record<string, unknown> = {};
  try {
    const text = Buffer.concat(chunks).toString('utf8');
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    return send(res, 200, { Error: 'class com.alibaba.fastjson.JSONException : invalid JSON' });
  }
  let answer: unknown;
  try {
    answer = http.disabled.has(path) ? undefined : route(chain, path, body);
  } catch (err) {
    // java-tron reports requests it cannot process as HTTP 200 with an Error field.
    return send(res, 200, { Error: `class java.lang.IllegalArgumentException : ${(err as Error).message}` });
  }
  if (answer === undefined) {
    res.writeHead(404, { 'content-type': 'text/html' });
    res.end('<html><body><h2>404 Not Found</h2></body></html>');
    return;
  }
  send(res, 200, answer);
}

function send(res: ServerResponse, status: number, json: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(json));
}

/** The answer to one API path, or undefined for a path the node does not serve. */
function route(chain: ChainState, path: string, body: Record<string, unknown>): unknown {
  const num = Number(body.num);
  const value = String(body.value ?? '').toLowerCase();
  const address = String(body.address ?? '').toLowerCase();
  switch (path) {
    case '/wallet/getnowblock':
      return chain.head();
    case '/wallet/getblockbynum':
      return chain.blocks.get(num) ?? {};
    case '/wallet/gettransactioninfobyid':
      return chain.infos.get(value) ?? {};
    case '/wallet/gettransactioninfobyblocknum': {
      const block = chain.blocks.get(num);
      return (block?.transactions ?? []).map((t) => chain.infos.get(t.txID)).filter((i): i is TronTxInfoJson => !!i);
    }
    case '/wallet/gettransactionbyid': {
      const n = chain.txBlock.get(value);
      return (n !== undefined && chain.blocks.get(n)?.transactions?.find((t) => t.txID === value)) || {};
    }
    case '/wallet/gettransactionfrompending':
      return chain.pending.find((t) => t.txID === value) ?? {};
    case '/wallet/getchainparameters':
      return { chainParameter: Object.entries(chain.params).map(([key, v]) => (v ? { key, value: v } : { key })) };
    case '/wallet/getaccountresource':
      return accountResource(chain, address);
    case '/wallet/getcandelegatedmaxsize': {
      // type 0: BANDWIDTH, 1: ENERGY; max_size in sun, omitted when 0.
      const owner = String(body.owner_address ?? '').toLowerCase();
      if (Number(body.type ?? 0) !== 1) return {};
      const free = (chain.stakedEnergy.get(owner) ?? 0n) - chain.delegatedOut(owner);
      return free > 0n ? { max_size: Number(free) } : {};
    }
    case '/wallet/getdelegatedresourcev2': {
      const from = String(body.fromAddress ?? '').toLowerCase();
      const to = String(body.toAddress ?? '').toLowerCase();
      const sun = chain.delegations.get(`${from}:${to}`) ?? 0n;
      return sun > 0n ? { delegatedResource: [{ from, to, frozen_balance_for_energy: Number(sun) }] } : {};
    }
    case '/wallet/getaccount':
      return account(chain, address);
    case '/wallet/triggerconstantcontract':
      return constantCall(chain, body);
    case '/wallet/broadcasttransaction':
      return broadcast(chain, body as unknown as TronTransactionJson);
    default:
      return undefined;
  }
}

function accountResource(chain: ChainState, address: string): unknown {
  if (!chain.activated.has(address)) return {};
  const r: TronAccountResourceJson = { ...(chain.resources.get(address) ?? { freeNetLimit: chain.params.getFreeNetLimit ?? 600 }) };
  const energyLimit = chain.energyLimit(address);
  if (energyLimit > 0) r.EnergyLimit = energyLimit;
  const energyUsed = chain.energyUsed.get(address) ?? 0;
  if (energyUsed > 0) r.EnergyUsed = energyUsed;
  const netUsed = chain.freeNetUsed.get(address) ?? 0;
  if (netUsed > 0) r.freeNetUsed = netUsed;
  return {
    ...r,
    TotalNetLimit: 43_200_000_000,
    TotalNetWeight: 68_305_209_098,
    TotalEnergyLimit: FAKE_TOTAL_ENERGY_LIMIT,
    TotalEnergyWeight: FAKE_TOTAL_ENERGY_WEIGHT,
  };
}

function account(chain: ChainState, address: string): unknown {
  if (!chain.activated.has(address)) return {};
  const balance = chain.trx.get(address) ?? 0n;
  const staked = chain.stakedEnergy.get(address) ?? 0n;
  const out = chain.delegatedOut(address);
  const inn = chain.delegatedIn(address);
  return {
    address,
    ...(balance > 0n ? { balance: Number(balance) } : {}),
    create_time: 1_700_000_000_000,
    ...(staked > out ? { frozenV2: [{ type: 'ENERGY', amount: Number(staked - out) }] } : {}),
    ...(out > 0n ? { delegated_frozenV2_balance_for_energy: Number(out) } : {}),
    ...(inn > 0n ? { account_resource: { acquired_delegated_frozenV2_balance_for_energy: Number(inn) } } : {}),
  };
}

/** triggerconstantcontract: TRC-20 balanceOf and a simulated transfer (energy estimate, or REVERT when unfunded). */
function constantCall(
  chain: ChainState,
  body: { owner_address?: unknown; contract_address?: unknown; function_selector?: unknown; parameter?: unknown },
): unknown {
  const contractBody = String(body.contract_address ?? '').slice(2);
  const param = String(body.parameter ?? '');
  const tx = { ret: [{}], visible: false };
  if (body.function_selector === 'balanceOf(address)') {
    const holder = param.slice(24, 64);
    return { result: { result: true }, energy_used: 541, constant_result: [word(chain.tokenBalance(contractBody, holder).toString(16))], transaction: tx };
  }
  if (body.function_selector === 'transfer(address,uint256)') {
    const toBody = param.slice(24, 64);
    const amount = BigInt(`0x${param.slice(64) || '0'}`);
    const balance = chain.tokenBalance(contractBody, String(body.owner_address ?? '').slice(2));
    if (chain.simulateRevert || balance < amount) {
      return {
        result: { result: true, message: hexMessage('REVERT opcode executed') },
        energy_used: 9_000,
        constant_result: [''],
        transaction: { ret: [{ ret: 'FAILED' }], visible: false },
      };
    }
    return { result: { result: true }, energy_used: chain.transferEnergyTo(contractBody, toBody), constant_result: [word('1')], transaction: tx };
  }
  return { result: { result: true }, energy_used: 0, constant_result: [''], transaction: tx };
}
