// What `npm start` keeps of the dev stack under .data/, and the check that the dev chains still
// are the chains its database remembers.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DEV_EVM_RPC, DEV_LTC_RPC } from '@cpg/chains/networks';
import { withPg } from '@cpg/devkit/services';

/** The dev stack's state: the embedded database, the bus, the two chains, the demo merchant's key. */
export const DEV_STATE_ENTRIES = ['pg', 'nats', 'ltc', 'anvil-state.json', 'widget-demo-merchant-key', 'children.json'];

/** `npm start -- --reset-dev`: removes the dev state so the next start begins on empty chains and an empty database. */
export function resetDevState(dataDir: string, log: (line: string) => void): void {
  if (process.env.DATABASE_URL) {
    throw new Error('--reset-dev resets only the embedded database under .data/; unset DATABASE_URL (your own database is never dropped)');
  }
  for (const entry of DEV_STATE_ENTRIES) {
    const full = path.join(dataDir, entry);
    if (!existsSync(full)) continue;
    rmSync(full, { recursive: true, force: true });
    log(`reset: removed ${path.relative(process.cwd(), full) || full}`);
  }
}

async function jsonRpc<T>(url: string, method: string, params: unknown[], auth?: { username: string; password: string }): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(auth ? { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` } : {}),
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as { result?: T; error?: { message: string } | null };
  if (body.error) throw new Error(body.error.message);
  return body.result as T;
}

/** The hash of the dev chain's block at `height`, or null when the chain is shorter. */
async function devBlockHash(network: string, height: number): Promise<string | null> {
  if (network === 'dev-evm') {
    const block = await jsonRpc<{ hash: string } | null>(process.env.DEV_EVM_RPC_URL ?? DEV_EVM_RPC, 'eth_getBlockByNumber', [
      `0x${height.toString(16)}`,
      false,
    ]);
    return block?.hash ?? null;
  }
  try {
    return await jsonRpc<string>(process.env.DEV_LTC_RPC_URL ?? DEV_LTC_RPC.url, 'getblockhash', [height], DEV_LTC_RPC);
  } catch (err) {
    if (/out of range/i.test((err as Error).message)) return null;
    throw err;
  }
}

/**
 * Dev networks whose chain no longer holds the last block the tracker committed (a chain started
 * empty, or from older state, under a database that remembers more). Scanning on would walk the
 * books back: payments PAID become PENDING and paid-out balances go negative. Empty when the
 * database has no tracker rows yet or every chain matches.
 */
export async function devChainMismatches(databaseUrl: string, networks: string[]): Promise<string[]> {
  let cursors: { network: string; height: string; hash: string | null }[] = [];
  await withPg(databaseUrl, async (client) => {
    try {
      cursors = (await client.query<{ network: string; height: string; hash: string | null }>('select network, height::text, hash from tracker.cursors')).rows;
    } catch {
      cursors = []; // first start: no tracker schema yet
    }
  });
  const out: string[] = [];
  for (const c of cursors) {
    if (!networks.includes(c.network) || !c.hash) continue;
    const height = Number(c.height);
    let onChain: string | null;
    try {
      onChain = await devBlockHash(c.network, height);
    } catch {
      continue; // the chain is down: the tracker reports that itself
    }
    if (onChain?.toLowerCase() !== c.hash.toLowerCase()) {
      out.push(
        `${c.network}: the database has scanned block ${height} (${c.hash.slice(0, 18)}…) but the chain ${onChain ? `has ${onChain.slice(0, 18)}… there` : 'is shorter'}`,
      );
    }
  }
  return out;
}
