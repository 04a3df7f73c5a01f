import type { RpcTransport } from '../types';
import { NonceManager } from './nonces';

function fakeNode(pending: number) {
  const calls: string[] = [];
  const transport: RpcTransport = {
    async call<T>(method: string): Promise<T> {
      calls.push(method);
      await new Promise((r) => setTimeout(r, 5));
      return `0x${pending.toString(16)}` as T;
    },
    async post<T>(): Promise<T> {
      throw new Error('unused');
    },
  };
  return { transport, calls, setPending: (n: number) => (pending = n) };
}

describe('NonceManager', () => {
  it('hands out consecutive nonces to concurrent callers of one address, reading the node once', async () => {
    const node = fakeNode(7);
    const nonces = new NonceManager(node.transport);
    const used = await Promise.all([1, 2, 3, 4].map(() => nonces.withNonce('0xAbC', async (n) => n)));
    expect(used).toEqual([7, 8, 9, 10]);
    expect(node.calls).toEqual(['eth_getTransactionCount']);
  });

  it('forgets the count after a failure and re-reads it from the node (pending)', async () => {
    const node = fakeNode(3);
    const nonces = new NonceManager(node.transport);
    expect(await nonces.withNonce('0xabc', async (n) => n)).toBe(3);
    await expect(nonces.withNonce('0xabc', async () => Promise.reject(new Error('estimate failed')))).rejects.toThrow('estimate failed');
    node.setPending(4);
    expect(await nonces.withNonce('0xABC', async (n) => n)).toBe(4);
    nonces.invalidate('0xAbc');
    node.setPending(9);
    expect(await nonces.withNonce('0xabc', async (n) => n)).toBe(9);
    expect(node.calls).toHaveLength(3);
  });

  it('keeps separate counts per address', async () => {
    const node = fakeNode(0);
    const nonces = new NonceManager(node.transport);
    await nonces.withNonce('0xa', async (n) => n);
    expect(await nonces.withNonce('0xa', async (n) => n)).toBe(1);
    expect(await nonces.withNonce('0xb', async (n) => n)).toBe(0);
  });
});
