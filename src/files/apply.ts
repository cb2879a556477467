// `baton apply` (DESIGN.md "Job files"): every job file under the paths applied in one
// transaction, file by file (a file the database refuses is undone alone and keeps what it
// applied before), then with --prune the source's schedules that no file names any more.
import { coerceError, isConnectionError, refuseNul } from '../core/errors.ts';
import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';
import { inTransaction } from '../db/transaction.ts';
import { type Definition, type FileError, findJobFiles, type JobFile, readJobFile } from './job-files.ts';

export interface ApplyOptions {
  /** Whose schedules these are (`managed_by`): prune deletes only this source's. */
  source: string;
  prune?: boolean;
  /** Work out the plan in a transaction that is rolled back. */
  dryRun?: boolean;
}

export type Action = 'create' | 'update' | 'unchanged' | 'delete';

/** What became (or would become) of one schedule. */
export interface Change {
  action: Action;
  name: string;
  file: string | null;
  /** Changed since it was last applied (by SQL, the API, the dashboard): this apply puts it back. */
  drifted: boolean;
  /** For an update, the fields that change, before and after; for a create, the file's definition as `after`. */
  before: Definition | null;
  after: Definition | null;
}

export interface ApplyReport {
  source: string;
  dryRun: boolean;
  /** How many job files were found. */
  files: number;
  changes: Change[];
  errors: FileError[];
  /** --prune was asked for and not done, because a file was in error. */
  pruneSkipped: boolean;
}

const applySchedules = statement<
  { source: string; file: string; schedules: string },
  {
    name: string;
    action: Exclude<Action, 'delete'>;
    drifted: boolean;
    before: Definition | null;
    after: Definition | null;
  }
>('apply_schedules', ['source', 'file', 'schedules']);
const pruneSchedules = statement<{ source: string; keep: string[] }, { name: string; file: string | null }>(
  'prune_schedules',
  ['source', 'keep'],
);

/** Applies the job files under `paths` (see the module comment); throws only when the database cannot be reached. */
export async function applyJobFiles(
  { pool, statements }: { pool: Pool; statements: Statements },
  paths: readonly string[],
  { source, prune = false, dryRun = false }: ApplyOptions,
): Promise<ApplyReport> {
  const files = await Promise.all((await findJobFiles(paths)).map(readJobFile));
  refuseTwice(files);
  const report: ApplyReport = { source, dryRun, files: files.length, changes: [], errors: [], pruneSkipped: false };
  const client = await pool.connect();
  try {
    await inTransaction(
      client,
      async () => {
        for (const file of files) {
          if (file.error) {
            report.errors.push(file.error);
            continue;
          }
          await client.query('savepoint job_file');
          try {
            const rows = await runStatement(client, statements, applySchedules, {
              source,
              file: file.path,
              schedules: JSON.stringify(definitionsOf(file)),
            });
            await client.query('release savepoint job_file');
            report.changes.push(...rows.map((row) => ({ ...row, file: file.path })));
          } catch (error) {
            if (isConnectionError(error)) throw error;
            await client.query('rollback to savepoint job_file');
            report.errors.push(refusal(file, error));
          }
        }
        if (!prune) return;
        if (report.errors.length > 0) {
          report.pruneSkipped = true;
          return;
        }
        const keep = files.flatMap((file) => file.schedules.map((s) => String(s.definition.name)));
        const pruned = await runStatement(client, statements, pruneSchedules, { source, keep });
        report.changes.push(
          ...pruned.map(({ name, file }) => ({
            action: 'delete' as const,
            name,
            file,
            drifted: false,
            before: null,
            after: null,
          })),
        );
      },
      { commit: !dryRun },
    );
  } finally {
    client.release();
  }
  return report;
}

/** A file's definitions as apply_schedules() takes them; a NUL character, which Postgres cannot store, is refused here. */
function definitionsOf(file: JobFile): Definition[] {
  return file.schedules.map((schedule, place) => {
    try {
      refuseNul(schedule.definition);
    } catch (error) {
      throw Object.assign(coerceError(error), { detail: `schedules[${place}]` });
    }
    return schedule.definition;
  });
}

/** The file's error for a refusal of the database, at the schedule and line of the field it names. */
function refusal(file: JobFile, error: unknown): FileError {
  const { message, field } = coerceError(error);
  const place = /^schedules\[(\d+)\]$/.exec((error as { detail?: string }).detail ?? '');
  const schedule = place ? file.schedules[Number(place[1])] : undefined;
  const name = schedule?.definition.name;
  return {
    file: file.path,
    ...(schedule ? { line: schedule.lineOf(field) } : {}),
    ...(typeof name === 'string' ? { schedule: name } : {}),
    ...(field ? { field } : {}),
    message,
  };
}

/** A name given twice, in one file or in two: the later file is in error (the earlier one applies). */
function refuseTwice(files: JobFile[]): void {
  const seen = new Map<string, string>();
  for (const file of files) {
    for (const schedule of file.schedules) {
      const name = schedule.definition.name;
      if (typeof name !== 'string') continue;
      const first = seen.get(name);
      if (first !== undefined) {
        file.error = {
          file: file.path,
          line: schedule.lineOf('name'),
          schedule: name,
          field: 'name',
          message: `name: "${name}" is given twice (first at ${first})`,
        };
        break;
      }
      seen.set(name, `${file.path}:${schedule.lineOf('name')}`);
    }
  }
}
