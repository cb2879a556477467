import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log line. */
const redactPaths = ['password', '*.password', 'connectionString', '*.connectionString', 'databaseUrl', '*.databaseUrl'];

export interface LoggerOptions {
  level?: string;
  /** Human-readable output; defaults to whether stdout is a terminal. */
  pretty?: boolean;
}

/** The process logger: structured JSON, pretty in a terminal. */
export function createLogger({ level = 'info', pretty = process.stdout.isTTY }: LoggerOptions = {}): Logger {
  return pino({
    level,
    base: { pid: process.pid },
    redact: { paths: redactPaths, censor: '[redacted]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' } } } : {}),
  });
}

/** A connection string with its password masked, safe to print or log. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '****';
    return parsed.toString();
  } catch {
    return url.replace(/:\/\/([^:/@]*):[^@]*@/, '://$1:****@');
  }
}
