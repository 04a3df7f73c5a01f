import { badInput } from './errors';

/** Cursor pagination shared by the subgraphs' lists (newest first, by creation time then id). */
export const DEFAULT_PAGE = 50;
export const MAX_PAGE = 200;

export interface Position {
  createdAt: Date;
  id: string;
}

/** `first` of a connection: default 50, at most 200; anything else is BAD_USER_INPUT. */
export function pageSize(first: number | null | undefined): number {
  if (first == null) return DEFAULT_PAGE;
  if (!Number.isInteger(first) || first < 1 || first > MAX_PAGE) throw badInput(`first must be between 1 and ${MAX_PAGE}`, { field: 'first' });
  return first;
}

/** Opaque to clients (so the ordering key may change); `tag` keeps one list's cursor from being used on another. */
export function encodeCursor(tag: string, p: Position): string {
  return Buffer.from(`${tag}:${p.createdAt.toISOString()}|${p.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(tag: string, cursor: string): Position {
  const bad = () => badInput('after is not a cursor returned by this API', { field: 'after' });
  if (typeof cursor !== 'string' || cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad();
  const m = /^([a-z]+):(\d{4}-\d{2}-\d{2}T[0-9:.]+Z)\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m || m[1] !== tag) throw bad();
  const createdAt = new Date(m[2]!);
  if (Number.isNaN(createdAt.getTime())) throw bad();
  return { createdAt, id: m[3]! };
}
