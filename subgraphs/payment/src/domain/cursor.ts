import { type Position, decodeCursor as decodeTagged, encodeCursor as encodeTagged } from '@cpg/core/graphql';

export { DEFAULT_PAGE, MAX_PAGE, type Position, pageSize } from '@cpg/core/graphql';

/** This list's cursors (tag `pay`): a cursor of another list is refused. */
export const encodeCursor = (p: Position): string => encodeTagged('pay', p);
export const decodeCursor = (cursor: string): Position => decodeTagged('pay', cursor);
