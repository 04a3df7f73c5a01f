import { getNetwork } from '../networks';
import { ChainError, type RpcTransport } from '../types';
import { BitcoinTxStatusReader } from './tx-status';
import { BitcoinWatcher } from './watcher';

const devLtc = getNetwork('dev-ltc', {});

function fakeNode(handlers: Record<string, (params: unknown[]) => unknown>): RpcTransport & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async call<T>(method: string, params: unknown[] = []): Promise<T> {
      calls.push(method);
      const h = handlers[method];
      if (!h) throw new Error(`unexpected ${method}`);
      return h(params) as T;
    },
    async post<T>(): Promise<T> {
      throw new Error('no post');
    },
  };
}

const nodeError = (code: number, message: string) => new ChainError(message, false, { code, message });

const script = () =>
  fakeNode({
    getblockcount: () => 12,
    getindexinfo: () => ({ txindex: { synced: true } }),
    getrawtransaction: ([txid]) => {
      if (txid === 'mined') return { txid, vin: [], vout: [], blockhash: 'bh', confirmations: 3 };
      if (txid === 'waiting') return { txid, vin: [], vout: [] };
      throw nodeError(-5, 'No such mempool or blockchain transaction');
    },
    getblockheader: () => ({ hash: 'bh', height: 10, confirmations: 3 }),
  });

describe('BitcoinTxStatusReader (the signer reads its withdrawals through it, without a watcher)', () => {
  it('answers tip and status like the watcher does', async () => {
    const reader = new BitcoinTxStatusReader(devLtc, script());
    const watcher = new BitcoinWatcher(devLtc, script());
    expect(await reader.getTipHeight()).toBe(12);
    for (const txid of ['mined', 'waiting', 'gone']) expect(await reader.getTransactionStatus(txid)).toEqual(await watcher.getTransactionStatus(txid));
    expect(await reader.getTransactionStatus('mined')).toEqual({ state: 'confirmed', blockHeight: 10, blockHash: 'bh' });
  });

  it('asks the node about its transaction index once', async () => {
    const node = script();
    const reader = new BitcoinTxStatusReader(devLtc, node);
    await reader.getTransactionStatus('waiting');
    await reader.getTransactionStatus('gone');
    expect(node.calls.filter((c) => c === 'getindexinfo')).toHaveLength(1);
  });

  it('refuses a network of another family', () => {
    expect(() => new BitcoinTxStatusReader(getNetwork('dev-evm', {}), script())).toThrow();
  });
});
