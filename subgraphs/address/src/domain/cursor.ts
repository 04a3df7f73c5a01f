import { badInput } from '@cpg/core/graphql';

/** A page position: the last row's (createdAt, id), the order addresses are listed in. */
export interface CursorPosition {
  createdAt: Date;
  id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Opaque to clients so the ordering key can change without breaking their stored cursors' format.
export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(`${p.createdAt.toISOString()}|${p.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  const bad = () => badInput('after is not a cursor returned by this API', { field: 'after' });
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  const [iso, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  if (rest.length || !iso || !id || !UUID.test(id)) throw bad();
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso) throw bad();
  return { createdAt, id: id.toLowerCase() };
}

export const MAX_PAGE = 200;

export function pageSize(first: number | null | undefined, fallback = 50): number {
  const n = first ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw badInput(`first must be from 1 to ${MAX_PAGE}`, { field: 'first' });
  return n;
}
