// `baton apply --watch`: apply once, then again whenever a job file under the paths is
// created, changed or deleted. Changes are debounced (an editor's save is often a write, a
// rename and a delete), one apply runs at a time, and an apply the database could not take
// (restarting, connection dropped) is retried until it goes through.
import path from 'node:path';

import { watch } from 'chokidar';

import { errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { backoffMs, sleep } from '../core/sleep.ts';
import type { Pool } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';
import { applyJobFiles, type ApplyOptions, type ApplyReport } from './apply.ts';
import { isJobFileName } from './job-files.ts';

export interface WatchOptions extends ApplyOptions {
  logger: Logger;
  /** Quiet time after the last change before applying. */
  debounceMs?: number;
}

/** Watches and applies until `signal` aborts; resolves once the last apply has finished. */
export async function watchJobFiles(
  db: { pool: Pool; statements: Statements },
  paths: readonly string[],
  { logger, debounceMs = 100, ...options }: WatchOptions,
  signal: AbortSignal,
): Promise<void> {
  const roots = new Set(paths.map((p) => path.resolve(p)));
  const watcher = watch([...paths], {
    ignoreInitial: true,
    // Hidden entries (editors' swap files, .git) and files that are not job files; never a path given.
    ignored: (file, stats) =>
      !roots.has(path.resolve(file)) &&
      (path.basename(file).startsWith('.') || (stats?.isFile() === true && !isJobFileName(file))),
  });
  let pending = true;
  let wake = () => {};
  const changed = () => {
    pending = true;
    wake();
  };
  watcher.on('all', changed);
  watcher.on('error', (error) => logger.warn({ err: errorMessage(error) }, 'watching job files failed'));
  signal.addEventListener('abort', () => wake(), { once: true });
  await new Promise<void>((resolve) => watcher.once('ready', resolve));
  logger.info({ paths, source: options.source }, 'watching job files');
  try {
    while (!signal.aborted) {
      if (!pending) await new Promise<void>((resolve) => (wake = resolve));
      // Until the files have been quiet for debounceMs.
      while (pending && !signal.aborted) {
        pending = false;
        await sleep(debounceMs, signal);
      }
      if (signal.aborted) break;
      await applyUntilTaken(db, paths, options, logger, signal);
    }
  } finally {
    await watcher.close();
  }
}

async function applyUntilTaken(
  db: { pool: Pool; statements: Statements },
  paths: readonly string[],
  options: ApplyOptions,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  for (let attempt = 0; !signal.aborted; attempt++) {
    const startedAt = performance.now();
    try {
      logApply(logger, await applyJobFiles(db, paths, options), performance.now() - startedAt);
      return;
    } catch (error) {
      const retryInMs = Math.round(backoffMs(attempt, 500, 10_000));
      logger.warn({ err: errorMessage(error), retryInMs }, 'applying job files failed; retrying');
      await sleep(retryInMs, signal);
    }
  }
}

/** One line per apply with what changed, and one per file in error. */
function logApply(logger: Logger, report: ApplyReport, ms: number): void {
  const names = (action: string) => report.changes.filter((c) => c.action === action).map((c) => c.name);
  for (const error of report.errors) logger.warn(error, 'job file not applied');
  logger.info(
    {
      source: report.source,
      files: report.files,
      created: names('create'),
      updated: names('update'),
      deleted: names('delete'),
      drifted: report.changes.filter((c) => c.drifted).map((c) => c.name),
      unchanged: names('unchanged').length,
      errors: report.errors.length,
      ...(report.pruneSkipped ? { pruneSkipped: true } : {}),
      ms: Math.round(ms),
    },
    'applied job files',
  );
}
