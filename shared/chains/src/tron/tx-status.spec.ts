import { getNetwork } from '../networks';
import type { RpcTransport } from '../types';
import { TronTxStatusReader } from './tx-status';

const tron = getNetwork('tron-shasta', {});
const MINED = 'aa'.repeat(32);
const WAITING = 'bb'.repeat(32);
const GONE = 'cc'.repeat(32);

const block = (number: number, id: string) => ({ blockID: id, block_header: { raw_data: { number, parentHash: 'p', timestamp: 1_700_000_000_000 } } });

/** A node over plain HTTP POST (no fan-out): answers by path and request body. */
function fakeNode(): RpcTransport & { paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    call: () => Promise.reject(new Error('unused')),
    async post<T>(path: string, body: unknown): Promise<T> {
      paths.push(path);
      const value = (body as { value?: string }).value;
      switch (path) {
        case '/wallet/getnowblock':
          return block(120, 'head') as T;
        case '/wallet/getblockbynum':
          return ((body as { num: number }).num === 100 ? block(100, 'b100') : {}) as T;
        case '/wallet/gettransactioninfobyid':
          return (value === MINED ? { id: MINED, blockNumber: 100 } : {}) as T;
        case '/wallet/gettransactionfrompending':
          return (value === WAITING ? { txID: WAITING } : {}) as T;
        default:
          throw new Error(`unexpected ${path}`);
      }
    },
  };
}

describe('TronTxStatusReader (the signer reads its withdrawals through it, without a watcher)', () => {
  it('reads the tip and tells confirmed, pending and dropped apart', async () => {
    const reader = new TronTxStatusReader(tron, fakeNode());
    expect(await reader.getTipHeight()).toBe(120);
    expect(await reader.getTransactionStatus(MINED)).toEqual({ state: 'confirmed', blockHeight: 100, blockHash: 'b100' });
    expect(await reader.getTransactionStatus(WAITING)).toEqual({ state: 'pending' });
    expect(await reader.getTransactionStatus(GONE)).toEqual({ state: 'dropped' });
  });

  it('refuses what is not a transaction id, before asking the node', async () => {
    const node = fakeNode();
    await expect(new TronTxStatusReader(tron, node).getTransactionStatus('0xabc')).rejects.toThrow(/not a Tron transaction id/);
    expect(node.paths).toEqual([]);
  });

  it('refuses a network of another family', () => {
    expect(() => new TronTxStatusReader(getNetwork('dev-evm', {}), fakeNode())).toThrow(/given EVM network/);
  });
});
