import { extendsCursor, findCommonAncestor } from './reorg';

describe('reorg detection', () => {
  it('accepts a block whose parent is the cursor, case-insensitively', () => {
    expect(extendsCursor({ height: 5, hash: '0xAB' }, { height: 6, parentHash: '0xab' })).toBe(true);
    expect(extendsCursor({ height: 5, hash: '0xab' }, { height: 6, parentHash: '0xcd' })).toBe(false);
  });

  it('accepts anything after an empty cursor', () => {
    expect(extendsCursor({ height: -1, hash: null }, { height: 0, parentHash: '0x00' })).toBe(true);
  });

  it('refuses a block at the wrong height', () => {
    expect(() => extendsCursor({ height: 5, hash: 'a' }, { height: 7, parentHash: 'a' })).toThrow();
  });
});

describe('walk-back to the common ancestor', () => {
  const stored: Record<number, string> = { 7: 'a7', 8: 'a8', 9: 'a9', 10: 'a10' };
  const chainWith = (replaced: number[]) => async (h: number) => (replaced.includes(h) ? `b${h}` : `a${h}`);
  const storedAt = async (h: number) => stored[h];

  it('finds the highest height where stored and chain agree', async () => {
    expect(await findCommonAncestor(10, 50, storedAt, chainWith([10]))).toEqual({ kind: 'ancestor', height: 9 });
    expect(await findCommonAncestor(10, 50, storedAt, chainWith([8, 9, 10]))).toEqual({ kind: 'ancestor', height: 7 });
  });

  it('treats heights with no stored hash as final', async () => {
    expect(await findCommonAncestor(10, 50, storedAt, chainWith([7, 8, 9, 10]))).toEqual({ kind: 'ancestor', height: 6 });
  });

  it('gives up beyond the max depth', async () => {
    expect(await findCommonAncestor(10, 2, storedAt, chainWith([7, 8, 9, 10]))).toEqual({ kind: 'too-deep', checkedDown: 8 });
  });

  it('walks down to before genesis', async () => {
    const all = async (h: number) => `s${h}`;
    expect(await findCommonAncestor(1, 50, all, async (h) => `c${h}`)).toEqual({ kind: 'ancestor', height: -1 });
  });

  it('treats a height the chain no longer has as a mismatch', async () => {
    expect(await findCommonAncestor(10, 50, storedAt, async (h) => (h >= 10 ? null : `a${h}`))).toEqual({ kind: 'ancestor', height: 9 });
  });
});
