import type { Command } from 'commander';
import type pg from 'pg';

import type { Baton } from '../baton.ts';
import type { Config, ConfigInput } from '../config/config.ts';
import { BatonError, coerceError, errorMessage } from '../core/errors.ts';
import type { Statements } from '../db/statements.ts';

// Config, Baton and the logger (zod, pg, pino, ...) are imported by the commands that use
// them, when they run: `baton --version` and `--help` load none of it.

/** Options every command takes. */
export interface GlobalOptions {
  databaseUrl?: string;
  schema?: string;
  logLevel?: string;
}

/** Commander's argument parser for an option that may be given again and again. */
export function repeatable(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A flag's JSON object, or a refusal naming the flag. */
export function jsonObject(flag: string, text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BatonError(`${flag}: not JSON: ${errorMessage(error)}`, 'invalid', flag);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new BatonError(`${flag}: must be a JSON object`, 'invalid', flag);
  }
  return value as Record<string, unknown>;
}

/** Exit codes are contract: scripts rely on them. */
export const ExitCode = { ok: 0, failure: 1, invalid: 2 } as const;

/** The config of a command: flags over environment over defaults. */
export async function commandConfig(options: GlobalOptions, overrides: Partial<ConfigInput> = {}): Promise<Config> {
  const { loadConfig } = await import('../config/load-config.ts');
  return loadConfig({
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
    ...(options.schema ? { schema: options.schema } : {}),
    ...(options.logLevel ? { logLevel: options.logLevel as Config['logLevel'] } : {}),
    ...overrides,
  });
}

/**
 * A Baton for a command, over config.databaseUrl. Services log to stdout; commands
 * whose stdout is their result pass `logTo: 2`.
 */
export async function batonFor(config: Config, { logTo = 1 }: { logTo?: 1 | 2 } = {}): Promise<Baton> {
  if (!config.databaseUrl) {
    throw new Error('no database: set DATABASE_URL or pass --database-url (or run `baton dev` for an embedded one)');
  }
  const [{ Baton }, { createLogger }] = await Promise.all([import('../baton.ts'), import('../core/logger.ts')]);
  const { databaseUrl, ...settings } = config;
  return new Baton({
    connectionString: databaseUrl,
    config: settings,
    logger: createLogger({ level: config.logLevel, fd: logTo }),
  });
}

/**
 * Runs a one-shot command (migrate, status) on a Baton over the command's config,
 * logging to stderr since stdout is the result; stops it afterwards.
 */
export async function withBaton<T>(cmd: Command, fn: (baton: Baton) => Promise<T>): Promise<T> {
  const baton = await batonFor(await commandConfig(cmd.optsWithGlobals<GlobalOptions>()), { logTo: 2 });
  try {
    return await fn(baton);
  } finally {
    await baton.stop();
  }
}

/**
 * Runs a command: prints a failure as one line and sets the exit code (2 for bad
 * input). A command whose exit code is someone else's (`baton run`) passes its own.
 */
export function wrapHandler<A extends unknown[]>(
  handler: (...args: A) => Promise<void>,
  { ownFailureExitCode }: { ownFailureExitCode?: number } = {},
) {
  return async (...args: A): Promise<void> => {
    try {
      await handler(...args);
    } catch (thrown) {
      const error = coerceError(thrown);
      process.stderr.write(`baton: ${error.message}\n`);
      process.exitCode =
        ownFailureExitCode ??
        (['invalid', 'not_found', 'clash'].includes(error.kind) ? ExitCode.invalid : ExitCode.failure);
    }
  };
}

/** Runs `fn`, calling `onSignal` instead of exiting on each SIGINT or SIGTERM meanwhile. */
export async function handlingSignals<T>(onSignal: (signal: NodeJS.Signals) => void, fn: () => Promise<T>): Promise<T> {
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * Runs a long-running command: `start`, then until SIGTERM or SIGINT, then `stop` once.
 * A signal during `start` stops the node once it has started; a failed start is stopped
 * too (its connections released, so the process can exit) and rethrown. A second signal
 * exits at once.
 */
export async function untilSignal(start: () => Promise<void>, stop: () => Promise<void>): Promise<void> {
  let signalled!: () => void;
  const signal = new Promise<void>((resolve) => (signalled = resolve));
  let stopping = false;
  const onSignal = (name: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`baton: ${name} again; exiting now\n`);
      process.exit(ExitCode.failure);
    }
    stopping = true;
    signalled();
  };
  // graphile-worker 0.17 does not await recording a job's completion; when the database is
  // gone at that moment, the rejection surfaces here. The job stays locked by this process,
  // so exit: the leader's reaper frees it, and a supervisor restarts the node.
  process.once('unhandledRejection', (reason) => {
    process.stderr.write(
      `baton: fatal: ${errorMessage(reason)}; exiting so that the leader frees this node's jobs (run nodes under a supervisor that restarts them)\n`,
    );
    process.exit(ExitCode.failure);
  });
  // Once stopped, signals mean exit again: were anything left running, a SIGTERM still ends it.
  await handlingSignals(onSignal, async () => {
    try {
      await start();
      await signal;
    } finally {
      await stop();
    }
  });
}

/** A command that reads something and prints it: formatted for people, or as JSON with --json. */
export function registerReport<T>(
  program: Command,
  report: {
    name: string;
    description: string;
    what: string;
    read: (baton: Baton) => Promise<T>;
    format: (value: T) => string;
  },
): Command {
  return program
    .command(report.name)
    .description(report.description)
    .option('--json', `print ${report.what} as JSON`)
    .action(
      wrapHandler(async (options: { json?: boolean }, cmd: Command) => {
        const value = await withBaton(cmd, report.read);
        process.stdout.write(options.json ? `${JSON.stringify(value)}\n` : report.format(value));
      }),
    );
}

/** A command's own SQL: a pool over the config's database and its statements, ended afterwards. */
export interface CommandDb {
  pool: pg.Pool;
  statements: Statements;
  schema: string;
}

/** Runs `fn` on a CommandDb for the command's config (`baton token`, `baton schedule`). */
export async function withPool<T>(cmd: Command, fn: (db: CommandDb) => Promise<T>): Promise<T> {
  return withConfigPool(await commandConfig(cmd.optsWithGlobals<GlobalOptions>()), fn);
}

/** Runs `fn` on a CommandDb for a config (`baton dev`'s, whose database it started itself). */
export async function withConfigPool<T>(config: Config, fn: (db: CommandDb) => Promise<T>): Promise<T> {
  if (!config.databaseUrl) throw new Error('no database: set DATABASE_URL or pass --database-url');
  const [{ default: pgModule }, { loadStatements }] = await Promise.all([import('pg'), import('../db/statements.ts')]);
  const pool = new pgModule.Pool({ connectionString: config.databaseUrl, max: 1 });
  try {
    return await fn({ pool, statements: loadStatements(config), schema: config.schema });
  } finally {
    await pool.end();
  }
}
