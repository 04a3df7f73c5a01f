import { randomBytes } from 'node:crypto';
import type { EventData } from '@cpg/core/bus';
import { gql } from '@cpg/devkit/testing';
import type { Stack } from './stack';

export type Merchant = Awaited<ReturnType<Stack['newMerchant']>>;
export interface EthBalance {
  available: string;
  pending: string;
  held: string;
  pendingScreening: string;
}

/** The data of a GraphQL answer that must have succeeded; its errors otherwise. */
export async function ok(p: Promise<{ data?: any; errors?: unknown }>): Promise<any> {
  const r = await p;
  if (!r.data || r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data;
}

/** A dev-evm ETH payment of `amount` for merchant `m`: its id, deposit address and address id. */
export async function createEthPayment(stack: Stack, m: Merchant, amount = '0.5'): Promise<{ id: string; address: string; addressId: string }> {
  const d = await ok(
    gql(
      stack.url,
      'mutation($i: CreatePaymentInput!) { createPayment(input: $i) { id address { id address } } }',
      { i: { coinId: 'dev-evm:ETH', amount } },
      m.secret,
    ),
  );
  return { id: d.createPayment.id, address: d.createPayment.address.address, addressId: d.createPayment.address.id };
}

/** The merchant's dev-evm ETH balance (zeros before any posting). */
export async function ethBalance(stack: Stack, m: Merchant): Promise<EthBalance> {
  const d = await ok(gql(stack.url, '{ me { balances { coin { id } available pending held pendingScreening } } }', {}, m.secret));
  const row = d.me.balances.find((b: { coin: { id: string } }) => b.coin.id === 'dev-evm:ETH');
  return row
    ? { available: row.available, pending: row.pending, held: row.held, pendingScreening: row.pendingScreening }
    : { available: '0', pending: '0', held: '0', pendingScreening: '0' };
}

/** A dev-evm ETH transfer to a payment's address, as the tracker reports it (1 confirmation). */
export function ethTransferEvent(
  m: Merchant,
  p: { address: string; addressId: string },
  from: string | null,
  amount: bigint,
  txHash = `0x${randomBytes(32).toString('hex')}`,
): EventData<'chain.transfer.seen'> {
  return {
    network: 'dev-evm',
    txHash,
    index: 0,
    from,
    to: p.address,
    coinId: 'dev-evm:ETH',
    amount: amount.toString(),
    blockHeight: 1,
    blockHash: `0x${randomBytes(32).toString('hex')}`,
    confirmations: 1,
    addressId: p.addressId,
    merchantId: m.id,
    internal: false,
  };
}
