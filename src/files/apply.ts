// `baton apply` (DESIGN.md "Job files"): every job file under the paths applied in one
// transaction by apply_files() (a file the database refuses is undone alone and keeps what it
// applied before), then with --prune the source's schedules that no file names any more.
import { coerceError, refuseNul } from '../core/errors.ts';
import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';
import { inTransaction } from '../db/transaction.ts';
import {
  type Definition,
  type FileError,
  type FileSchedule,
  findJobFiles,
  type JobFile,
  readJobFile,
} from './job-files.ts';

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

const applyFiles = statement<
  { source: string; files: string },
  {
    file: string;
    name: string | null;
    action: Exclude<Action, 'delete'> | 'error';
    drifted: boolean;
    before: Definition | null;
    after: Definition | null;
    error: { message: string; field: string | null; place: number | null; sqlstate: string } | null;
  }
>('apply_files', ['source', 'files']);
const pruneSchedules = statement<{ source: string; keep: string[] }, { name: string; file: string | null }>(
  'prune_schedules',
  ['source', 'keep'],
);

/**
 * Applies the job files under `paths` (see the module comment). Throws when a path does not
 * exist or the database cannot be reached; what the files hold is reported, not thrown.
 */
export async function applyJobFiles(
  { pool, statements }: { pool: Pool; statements: Statements },
  paths: readonly string[],
  { source, prune = false, dryRun = false }: ApplyOptions,
): Promise<ApplyReport> {
  const files = await Promise.all((await findJobFiles(paths)).map(readJobFile));
  refuseTwice(files);
  const report: ApplyReport = { source, dryRun, files: files.length, changes: [], errors: [], pruneSkipped: false };
  for (const file of files) file.error ??= nulRefusal(file);
  const readable = files.filter((file) => !file.error);
  report.errors.push(...files.flatMap((file) => (file.error ? [file.error] : [])));
  const client = await pool.connect();
  try {
    await inTransaction(
      client,
      async () => {
        const byPath = new Map(readable.map((file) => [file.path, file]));
        const rows = await runStatement(client, statements, applyFiles, {
          source,
          files: JSON.stringify(
            readable.map((file) => ({ file: file.path, schedules: file.schedules.map((s) => s.definition) })),
          ),
        });
        for (const { error, action, name, ...row } of rows) {
          if (error) report.errors.push(refusal(byPath.get(row.file)!, error));
          else report.changes.push({ ...row, action: action as Exclude<Action, 'delete'>, name: name! });
        }
        if (!prune) return;
        if (files.length === 0) {
          // An empty or unmounted directory must not delete a source's every schedule.
          report.errors.push({
            file: paths.join(' '),
            message: `no job files here, so nothing is pruned (to delete every schedule of the source: select baton.prune_schedules('${source}', '{}'))`,
          });
        }
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

/** A NUL character, which Postgres cannot store, refused here as the database would refuse a field. */
function nulRefusal(file: JobFile): FileError | undefined {
  for (const [place, schedule] of file.schedules.entries()) {
    try {
      refuseNul(schedule.definition);
    } catch (error) {
      const { message, field } = coerceError(error);
      return refusal(file, { message, field: field ?? null, place });
    }
  }
  return undefined;
}

/** The file's error for a refusal, at the schedule and line of the field it names. */
function refusal(
  file: JobFile,
  { message, field, place }: { message: string; field: string | null; place: number | null },
): FileError {
  const schedule = place === null ? undefined : file.schedules[place];
  const name = schedule?.definition.name;
  return {
    file: file.path,
    ...(schedule ? { line: schedule.lineOf(field ?? undefined) } : {}),
    ...(typeof name === 'string' ? { schedule: name } : {}),
    ...(field ? { field } : {}),
    message,
  };
}

/** A name given twice, in one file or in two: the later file is in error (the earlier one applies). */
function refuseTwice(files: JobFile[]): void {
  const seen = new Map<string, { file: JobFile; schedule: FileSchedule }>();
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
          message: `name: "${name}" is given twice (first at ${first.file.path}:${first.schedule.lineOf('name')})`,
        };
        break;
      }
      seen.set(name, { file, schedule });
    }
  }
}
