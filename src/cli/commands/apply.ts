import path from 'node:path';

import type { Command } from 'commander';

import { BatonError } from '../../core/errors.ts';
import type { ApplyReport, Change } from '../../files/apply.ts';
import type { FileError } from '../../files/job-files.ts';
import { commandConfig, ExitCode, type GlobalOptions, untilSignal, withPool, wrapHandler } from '../runtime.ts';

interface ApplyFlags {
  source?: string;
  prune?: boolean;
  dryRun?: boolean;
  diff?: boolean;
  watch?: boolean;
  json?: boolean;
}

/** `baton apply PATH...` (DESIGN.md "Job files"). */
export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('apply job files (JSON or YAML) to the schedules; with --prune, delete what they no longer name')
    .argument('<path...>', 'job files, or directories of *.json, *.yaml, *.yml')
    .option('--source <name>', 'whose schedules these are, for prune and drift (default: the paths as given)')
    .option('--prune', "delete this source's schedules that no file names (not when a file is in error)")
    .option('--dry-run', 'print the plan (create, update, delete) and change nothing')
    .option(
      '--diff',
      'print the plan with the fields that change; exit 0 when nothing would change, 1 when something would, 2 on errors',
    )
    .option('--watch', 'apply, then apply again whenever a file is created, changed or deleted')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Examples:
  baton apply jobs/ --source app --prune        # make the database match jobs/
  baton apply jobs/ --source app --diff         # what would change, as kubectl diff
  baton apply /etc/pgbaton/jobs --source ops --prune --watch`,
    )
    .action((paths: string[], flags: ApplyFlags, cmd: Command) =>
      wrapHandler(flags.watch ? watchCommand : applyCommand, {
        ...(flags.diff ? { ownFailureExitCode: ExitCode.invalid } : {}),
      })(paths, flags, cmd),
    );
}

/** The source when none is given: the paths as given, normalized (`./jobs/` is `jobs`). */
function defaultSource(paths: string[]): string {
  return paths.map((p) => path.normalize(p).replace(/(.)\/+$/, '$1')).join(',');
}

async function applyCommand(paths: string[], flags: ApplyFlags, cmd: Command): Promise<void> {
  const { applyJobFiles } = await import('../../files/apply.ts');
  const report = await withPool(cmd, (db) =>
    applyJobFiles(db, paths, {
      source: flags.source ?? defaultSource(paths),
      prune: flags.prune ?? false,
      dryRun: (flags.dryRun ?? false) || (flags.diff ?? false),
    }),
  );
  if (flags.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(formatReport(report, { fields: flags.diff ?? false }));
  for (const error of report.errors) process.stderr.write(`baton: ${formatError(error)}\n`);
  const changed = report.changes.some((c) => c.action !== 'unchanged');
  process.exitCode =
    report.errors.length > 0 ? ExitCode.invalid : flags.diff && changed ? ExitCode.failure : ExitCode.ok;
}

async function watchCommand(paths: string[], flags: ApplyFlags, cmd: Command): Promise<void> {
  if (flags.dryRun || flags.diff) {
    throw new BatonError('--watch applies; it does not go with --dry-run or --diff', 'invalid', '--watch');
  }
  const config = await commandConfig(cmd.optsWithGlobals<GlobalOptions>());
  if (!config.databaseUrl) throw new Error('no database: set DATABASE_URL or pass --database-url');
  const [{ watchJobFiles }, { findJobFiles }, { createLogger }, { createConnections }, { loadStatements }] =
    await Promise.all([
      import('../../files/watch.ts'),
      import('../../files/job-files.ts'),
      import('../../core/logger.ts'),
      import('../../db/pool.ts'),
      import('../../db/statements.ts'),
    ]);
  const logger = createLogger({ level: config.logLevel }).child({ module: 'apply' });
  const connections = createConnections({ connectionString: config.databaseUrl }, logger);
  const stopping = new AbortController();
  let watching: Promise<void> | undefined;
  await untilSignal(
    async () => {
      await findJobFiles(paths); // a path that is not there is a usage error, not something to wait for
      watching = watchJobFiles(
        { pool: connections.pool, statements: loadStatements(config) },
        paths,
        { source: flags.source ?? defaultSource(paths), prune: flags.prune ?? false, logger },
        stopping.signal,
      );
    },
    async () => {
      stopping.abort();
      await watching;
      await connections.close();
    },
  );
}

const verbs = {
  plan: { create: 'to create', update: 'to update', delete: 'to delete', unchanged: 'unchanged' },
  done: { create: 'created', update: 'updated', delete: 'deleted', unchanged: 'unchanged' },
} as const;

/** The plan or what was done: one line per change (with its fields under --diff), then a summary. */
function formatReport(report: ApplyReport, { fields }: { fields: boolean }): string {
  const lines: string[] = [];
  const shown = report.changes.filter((c) => c.action !== 'unchanged');
  const width = Math.min(40, Math.max(0, ...shown.map((c) => c.name.length)));
  for (const change of shown) {
    const drift = change.drifted ? '  (drifted: changed since applied; put back)' : '';
    lines.push(`${change.action.padEnd(7)} ${change.name.padEnd(width)}  ${change.file ?? ''}${drift}`);
    if (change.action === 'update' || fields) lines.push(...fieldLines(change));
  }
  const count = (action: Change['action']) => report.changes.filter((c) => c.action === action).length;
  const words = report.dryRun ? verbs.plan : verbs.done;
  const summary = (['create', 'update', 'delete', 'unchanged'] as const).map((a) => `${count(a)} ${words[a]}`);
  if (report.errors.length > 0) {
    summary.push(`${report.errors.length} file${report.errors.length === 1 ? '' : 's'} in error`);
  }
  if (report.pruneSkipped) summary.push('nothing pruned');
  const head = `${report.dryRun ? 'plan' : 'applied'} (source "${report.source}", ${report.files} file${report.files === 1 ? '' : 's'})`;
  lines.push(`${head}: ${summary.join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function fieldLines({ before, after }: Change): string[] {
  const show = (value: unknown) => JSON.stringify(value ?? null);
  return Object.keys({ ...before, ...after }).map((field) =>
    before
      ? `    ${field}: ${show(before[field])} -> ${show(after?.[field])}`
      : `    ${field}: ${show(after?.[field])}`,
  );
}

/** `file:line: schedule "name": field: message`, as compilers say it. */
function formatError({ file, line, schedule, message }: FileError): string {
  return `${file}${line === undefined ? '' : `:${line}`}: ${schedule ? `schedule "${schedule}": ` : ''}${message}`;
}
