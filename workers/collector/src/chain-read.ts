import type { CoinConfig, NetworkConfig } from '@cpg/chains';
import type { CollectorChain } from './chain';
import type { TronAccountState, TronFeeEstimate, Utxo } from './domain/planner';

/** What a plan needs from the chain about a merchant's USER addresses and wallets. */
export interface ChainRead {
  balances: bigint[];
  hotBalance: bigint;
  natives?: bigint[];
  funderNativeBalance?: bigint;
  utxos?: Map<string, Utxo[]>;
  tron?: { accounts: TronAccountState[]; fees: TronFeeEstimate };
}

/**
 * Balances the plan needs, read from the chain: the USER addresses' (final ones only), HOT's,
 * and per family what pays for the sweep (the funder's native coin, Tron accounts and prices).
 * `funder`: TOKENS_COLLECTOR, else HOT.
 */
export async function readChain(
  chain: CollectorChain,
  network: NetworkConfig,
  coin: CoinConfig,
  w: { users: string[]; hot: string; funder: string },
): Promise<ChainRead> {
  const addrs = w.users;
  if (network.family === 'BITCOIN') {
    // One scan for the USER outputs (final ones only), one for HOT: the node scans one at a time.
    const utxos = await chain.utxos(addrs);
    const [hotBalance] = await chain.balances([w.hot], coin);
    return { balances: addrs.map(() => 0n), hotBalance: hotBalance!, utxos };
  }
  const [balances, [hotBalance]] = await Promise.all([chain.finalBalances(addrs, coin), chain.balances([w.hot], coin)]);
  if (network.family === 'TRON') {
    // Tron: every plan needs the accounts' state and the funder's TRX (top-ups, or its stake to delegate).
    const [natives, [funderNativeBalance], accounts, fees] = await Promise.all([
      chain.balances(addrs, network.nativeCoin),
      chain.balances([w.funder], network.nativeCoin),
      chain.tronAccounts(addrs),
      chain.tronFees(w.funder),
    ]);
    return { balances, hotBalance: hotBalance!, natives, funderNativeBalance, tron: { accounts, fees } };
  }
  if (!coin.contract) return { balances, hotBalance: hotBalance! };
  const natives = await chain.balances(addrs, network.nativeCoin);
  const [funderNativeBalance] = await chain.balances([w.funder], network.nativeCoin);
  return { balances, hotBalance: hotBalance!, natives, funderNativeBalance };
}

/** What each address holds of the coin, final only (no HOT wallet yet: for the report of what waits). */
export async function finalHoldings(chain: CollectorChain, network: NetworkConfig, coin: CoinConfig, addrs: string[]): Promise<bigint[]> {
  if (network.family !== 'BITCOIN') return chain.finalBalances(addrs, coin);
  const utxos = await chain.utxos(addrs);
  return addrs.map((a) => (utxos.get(a) ?? []).reduce((x, u) => x + u.value, 0n));
}
