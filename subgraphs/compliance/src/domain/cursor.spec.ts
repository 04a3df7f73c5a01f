import { csvCell, toCsv } from '../services/report';
import { decodeCursor, encodeCursor, pageSize } from './cursor';

describe('cursors', () => {
  it('round-trip and refuse foreign or forged ones', () => {
    const p = { createdAt: new Date('2026-11-26T10:00:00.123Z'), id: '6f0c2c6e-0000-4000-8000-000000000001' };
    expect(decodeCursor('alert', encodeCursor('alert', p))).toEqual(p);
    expect(() => decodeCursor('alert', encodeCursor('grey', p))).toThrow(/not a cursor/);
    expect(() => decodeCursor('alert', 'bm9wZQ')).toThrow(/not a cursor/);
    expect(() => pageSize(0)).toThrow();
    expect(pageSize(undefined)).toBe(50);
  });
});

describe('report CSV', () => {
  it('quotes, doubles quotes and defuses spreadsheet formulas', () => {
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(toCsv([]).startsWith('kind,at,id,')).toBe(true);
  });
});
