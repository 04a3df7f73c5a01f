import { GraphQLError } from 'graphql';

/** The closed list of error codes clients may branch on (DESIGN.md). Never add ad hoc codes. */
export const ERROR_CODES = [
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'INSUFFICIENT_FUNDS',
  'RATE_LIMITED',
  'CONFLICT',
  'UNAVAILABLE',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const HTTP_STATUS: Partial<Record<ErrorCode, number>> = { UNAUTHENTICATED: 401, RATE_LIMITED: 429 };

/**
 * The one error type domain code throws for expected failures. Its message is shown to API users,
 * so it must say what was wrong and never leak internals. `details` lands in extensions (e.g. the
 * field that failed), for clients that want more than the code.
 */
export class AppError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    const status = HTTP_STATUS[code];
    super(message, { extensions: { ...details, code, ...(status ? { http: { status } } : {}) } });
    this.code = code;
    this.name = 'AppError';
  }
}

export const badInput = (message: string, details?: Record<string, unknown>) => new AppError('BAD_USER_INPUT', message, details);
export const notFound = (what: string) => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (message: string) => new AppError('FORBIDDEN', message);
export const unauthenticated = (message = 'authentication required') => new AppError('UNAUTHENTICATED', message);
export const conflict = (message: string, details?: Record<string, unknown>) => new AppError('CONFLICT', message, details);
export const unavailable = (message: string) => new AppError('UNAVAILABLE', message);

// Apollo's own codes for malformed operations, folded into the closed list so clients see one
// vocabulary; the original stays in `extensions.reason` for debugging.
const APOLLO_INPUT_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'BAD_USER_INPUT',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);

/**
 * Shapes every error leaving a server: known codes pass, Apollo input codes become
 * BAD_USER_INPUT, anything else is an internal fault whose message is masked (it may hold SQL or
 * stack details) and which the caller logs.
 */
export function formatAppError(
  formatted: { message: string; extensions?: Record<string, unknown>; path?: readonly (string | number)[]; locations?: readonly unknown[] },
  onInternal?: (message: string) => void,
) {
  const ext = { ...(formatted.extensions ?? {}) };
  delete ext.stacktrace;
  const code = typeof ext.code === 'string' ? ext.code : undefined;
  if (code && (ERROR_CODES as readonly string[]).includes(code)) return { ...formatted, extensions: ext };
  if (code && APOLLO_INPUT_CODES.has(code)) return { ...formatted, extensions: { ...ext, code: 'BAD_USER_INPUT', reason: code } };
  onInternal?.(formatted.message);
  return { message: 'internal error', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}
