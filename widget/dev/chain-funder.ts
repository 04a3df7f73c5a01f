import { LitecoinDevControls } from '@cpg/devkit/chains/bitcoin/dev';
import { EvmDevControls } from '@cpg/devkit/chains/evm/dev';
import { getNetwork } from '@cpg/chains/networks';
import { createRpcPool } from '@cpg/chains/rpc';
import type { DevChainControls } from '@cpg/chains/types';
import { fraction } from '../src/amount';
import type { Funder } from './server';

const QUERY = `query($t: String!) { checkout(token: $t) { amount amountDue address { address } coin { id decimals network { id confirmations } } } }`;

interface Target {
  amount: string | null;
  amountDue: string | null;
  address: { address: string };
  coin: { id: string; decimals: number; network: { id: string; confirmations: number } };
}

/**
 * Pays a checkout on the dev chains (anvil, litecoind regtest) from their faucets and mines the
 * blocks it needs to confirm, as a customer's wallet and the network would. For `npm start` only.
 */
export function devChainFunder(gatewayGraphqlUrl: string): Funder {
  const controls = new Map<string, DevChainControls>();
  const controlsFor = (networkId: string): DevChainControls => {
    let c = controls.get(networkId);
    if (c) return c;
    const network = getNetwork(networkId);
    if (!network.dev) throw new Error(`${networkId} is not a dev chain`);
    const transport = createRpcPool(network.rpc);
    c = network.family === 'EVM' ? new EvmDevControls(network, transport) : new LitecoinDevControls(network, transport);
    controls.set(networkId, c);
    return c;
  };
  return async (token, part) => {
    const res = await fetch(gatewayGraphqlUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: QUERY, variables: { t: token } }),
    });
    const body = (await res.json()) as { data?: { checkout: Target | null }; errors?: { message: string }[] };
    const p = body.data?.checkout;
    if (!p) throw new Error(body.errors?.[0]?.message ?? 'no payment has this token');
    const due = p.amountDue ?? p.amount ?? '0';
    if (due === '0') throw new Error('nothing is due');
    const units = fraction(due, p.coin.decimals, 1n, part === 'half' ? 2n : 1n);
    const c = controlsFor(p.coin.network.id);
    const tx = await c.fund(p.address.address, p.coin.id, units);
    await c.mine(p.coin.network.confirmations);
    return tx;
  };
}
