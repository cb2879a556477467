/** SQLSTATEs raised by pgbaton's own SQL (see sql/common/errors.sql). */
export const SqlState = {
  invalid: 'BT400',
  notFound: 'BT404',
  notLeader: 'BT409',
} as const;

export type ErrorKind = 'invalid' | 'not_found' | 'not_leader' | 'clash' | 'retryable' | 'other';

/** An error from Postgres or pgbaton, normalised: what kind it is and which field it names. */
export class BatonError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BatonError';
  }
}

const kindByCode: Record<string, ErrorKind> = {
  [SqlState.invalid]: 'invalid',
  [SqlState.notFound]: 'not_found',
  [SqlState.notLeader]: 'not_leader',
  '23505': 'clash',
  '40001': 'retryable',
  '40P01': 'retryable',
  '57P01': 'retryable',
  '57P03': 'retryable',
};

/** Turns anything thrown into a BatonError, keeping the SQLSTATE's meaning and the column. */
export function coerceError(error: unknown): BatonError {
  if (error instanceof BatonError) return error;
  if (error instanceof Error) {
    const { code, column } = error as Error & { code?: string; column?: string };
    return new BatonError(error.message, (code && kindByCode[code]) || 'other', column, { cause: error });
  }
  return new BatonError(String(error), 'other');
}

/** The message of anything thrown. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Socket-level failures Node and pg report without an SQLSTATE. */
const transientSocketCodes = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTCONN']);

/**
 * Whether the error is the connection's, not the statement's: the server went away
 * (restart, pg_terminate_backend, network), so the same statement may succeed on a
 * new connection.
 */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code } = error as Error & { code?: string };
  if (code && (code.startsWith('08') || ['57P01', '57P02', '57P03'].includes(code) || transientSocketCodes.has(code))) {
    return true;
  }
  return /Connection terminated|connection timeout|Client has encountered a connection error/i.test(error.message);
}

/**
 * Refuses a NUL character (U+0000) anywhere in the values, keys included: Postgres stores
 * none in text or jsonb, and its own error names no field. Throws a BatonError naming the
 * first place it is found (`payload.env.NAME`).
 */
export function refuseNul(fields: Record<string, unknown>): void {
  const path = nulPath(fields, '');
  if (path === undefined) return;
  const field = path.split('.')[0]!;
  throw new BatonError(`${path}: holds a NUL character (\\u0000), which Postgres cannot store`, 'invalid', field);
}

function nulPath(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return value.includes('\0') ? path : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [key, item] of Object.entries(value)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (key.includes('\0')) return at;
    const found = nulPath(item, at);
    if (found !== undefined) return found;
  }
  return undefined;
}
