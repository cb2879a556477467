import { destination, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log line. */
const redactPaths = [
  'password',
  '*.password',
  'connectionString',
  '*.connectionString',
  'databaseUrl',
  '*.databaseUrl',
  'secrets',
  '*.secrets',
  'sqlDatabases',
  '*.sqlDatabases',
  'sqlLogins',
  '*.sqlLogins',
];

export interface LoggerOptions {
  level?: string;
  /** Where log lines go: 1 (stdout, for services) or 2 (stderr, for commands whose stdout is their result). */
  fd?: 1 | 2;
  /** Human-readable output; defaults to whether that stream is a terminal. */
  pretty?: boolean;
}

/** Whether pino-pretty is installed: a dev dependency, so an app's install may lack it. */
function prettyInstalled(): boolean {
  try {
    import.meta.resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/** The process logger: structured JSON, pretty in a terminal (where pino-pretty is installed). */
export function createLogger({ level = 'info', fd = 1, pretty }: LoggerOptions = {}): Logger {
  const options = { level, base: { pid: process.pid }, redact: { paths: redactPaths, censor: '[redacted]' } };
  if ((pretty ?? (fd === 1 ? process.stdout : process.stderr).isTTY) && prettyInstalled()) {
    return pino({
      ...options,
      transport: {
        target: 'pino-pretty',
        options: { destination: fd, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' },
      },
    });
  }
  return pino(options, destination({ fd, sync: true }));
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
