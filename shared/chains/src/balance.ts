import { coinsToSats } from './bitcoin/amount';
import { RPC_INVALID_PARAMETER, rpcErrorCode } from './bitcoin/rpc';
import { tronBase58ToHex } from './tron/address';
import { ChainError, type CoinConfig, type NetworkConfig, type RpcTransport } from './types';

/**
 * Read-only balance reads, one per family, for wallet overviews and the collector's planning.
 * No keys, no wallet on the node. Every function may throw ChainError (transient when the node
 * did not answer). Amounts are bigint base units of `coin`.
 *
 * - EVM: `eth_getBalance` (native) or `balanceOf` through `eth_call` (tokens), at `latest`.
 * - Bitcoin family: confirmed unspent outputs found with `scantxoutset` (no wallet needed);
 *   several addresses are read in one scan, since the node runs one scan at a time.
 * - Tron: `/wallet/getaccount` (TRX, 0 for an inactive account) or `balanceOf` through
 *   `/wallet/triggerconstantcontract` (TRC-20).
 */
export async function getBalance(network: NetworkConfig, transport: RpcTransport, address: string, coin: CoinConfig): Promise<bigint> {
  const [balance] = await getBalances(network, transport, [address], coin);
  return balance!;
}

/**
 * Balances of several addresses for one coin, in the order given. `atBlock` (EVM only) reads the
 * state at that height instead of the tip, e.g. tip - confirmations + 1 for final balances.
 */
export async function getBalances(
  network: NetworkConfig,
  transport: RpcTransport,
  addresses: string[],
  coin: CoinConfig,
  opts: { atBlock?: number } = {},
): Promise<bigint[]> {
  if (!network.coins.some((c) => c.id === coin.id)) throw new Error(`coin ${coin.id} is not a coin of network ${network.id}`);
  if (addresses.length === 0) return [];
  switch (network.family) {
    case 'EVM':
      return Promise.all(addresses.map((a) => evmBalance(transport, a, coin, opts.atBlock === undefined ? 'latest' : `0x${opts.atBlock.toString(16)}`)));
    case 'BITCOIN':
      return bitcoinBalances(transport, addresses);
    case 'TRON':
      return Promise.all(addresses.map((a) => tronBalance(transport, a, coin)));
    default:
      throw new Error(`unknown family ${String(network.family)}`);
  }
}

function hexQuantity(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]*$/.test(value)) throw new ChainError(`${what}: not a hex quantity`, false);
  return value === '0x' ? 0n : BigInt(value);
}

async function evmBalance(transport: RpcTransport, address: string, coin: CoinConfig, block: string): Promise<bigint> {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error(`not an EVM address: ${address}`);
  if (!coin.contract) return hexQuantity(await transport.call('eth_getBalance', [address, block]), 'eth_getBalance');
  const data = `0x70a08231${address.slice(2).toLowerCase().padStart(64, '0')}`;
  return hexQuantity(await transport.call('eth_call', [{ to: coin.contract, data }, block]), 'balanceOf');
}

async function bitcoinBalances(transport: RpcTransport, addresses: string[]): Promise<bigint[]> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await transport.call<{ success: boolean; unspents: { desc: string; amount: number; scriptPubKey: string }[] }>('scantxoutset', [
        'start',
        addresses.map((a) => `addr(${a})`),
      ]);
      if (!res.success) throw new ChainError('scantxoutset did not complete', true);
      const totals = new Map<string, bigint>(addresses.map((a) => [a, 0n]));
      for (const u of res.unspents) {
        // desc is "addr(<address>)#checksum"; the address keeps the case it was asked with.
        const m = /^addr\(([^)]+)\)/.exec(u.desc);
        const key = m ? addresses.find((a) => a.toLowerCase() === m[1]!.toLowerCase()) : undefined;
        if (key !== undefined) totals.set(key, totals.get(key)! + coinsToSats(u.amount));
      }
      return addresses.map((a) => totals.get(a)!);
    } catch (err) {
      // Another process's scan holds the node's single scan slot.
      if (rpcErrorCode(err) === RPC_INVALID_PARAMETER && /in progress/i.test((err as Error).message) && attempt < 40) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      throw err;
    }
  }
}

async function tronBalance(transport: RpcTransport, address: string, coin: CoinConfig): Promise<bigint> {
  const hex = tronBase58ToHex(address);
  if (!coin.contract) {
    const account = await transport.post<{ balance?: number | string }>('/wallet/getaccount', { address: hex, visible: false });
    return BigInt(account.balance ?? 0);
  }
  const res = await transport.post<{ result?: { result?: boolean }; constant_result?: string[] }>('/wallet/triggerconstantcontract', {
    owner_address: hex,
    contract_address: tronBase58ToHex(coin.contract),
    function_selector: 'balanceOf(address)',
    parameter: hex.slice(2).padStart(64, '0'),
    visible: false,
  });
  const word = res.result?.result === true ? res.constant_result?.[0] : undefined;
  if (!word || !/^[0-9a-fA-F]{64}$/.test(word)) throw new ChainError('balanceOf: no result from the node', false);
  return BigInt(`0x${word}`);
}
