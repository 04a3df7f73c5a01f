export { DEFAULT_PAGE, MAX_PAGE, type Position, decodeCursor, encodeCursor, pageSize } from '@cpg/core/graphql';
