import { decodeCursor, encodeCursor, pageSize } from './cursor';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { extensions?: { code?: string } }).extensions?.code;
  }
  return undefined;
};

describe('address cursors', () => {
  const pos = { createdAt: new Date('2026-11-26T02:00:00.123Z'), id: '0f3c2b1a-9d8e-4c7b-a6f5-e4d3c2b1a098' };

  it('round-trip and look opaque', () => {
    const c = encodeCursor(pos);
    expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(c).not.toContain(pos.id);
    expect(decodeCursor(c)).toEqual(pos);
  });

  it('refuse anything not made by encodeCursor', () => {
    for (const bad of [
      '',
      'not a cursor',
      Buffer.from('2026-11-26T02:00:00.123Z|x').toString('base64url'),
      Buffer.from(`yesterday|${pos.id}`).toString('base64url'),
      'A'.repeat(300),
    ]) {
      expect(code(() => decodeCursor(bad))).toBe('BAD_USER_INPUT');
    }
  });

  it('page sizes stay within bounds', () => {
    expect(pageSize(undefined)).toBe(50);
    expect(pageSize(200)).toBe(200);
    expect(code(() => pageSize(0))).toBe('BAD_USER_INPUT');
    expect(code(() => pageSize(201))).toBe('BAD_USER_INPUT');
  });
});
