import type { Command } from 'commander';
import type pg from 'pg';

import { runStatement, type Statement, statement } from '../../db/statements.ts';
import {
  getSchedule,
  type Item,
  listSchedules,
  setEnabled,
  throughDoor,
  triggerSchedule,
  unschedule,
} from '../../schedules/door-statements.ts';
import { type CommandDb, jsonObject, withPool, wrapHandler } from '../runtime.ts';
import { formatTable } from '../table.ts';
import { registerAdd } from './schedule-add.ts';

/** A change made from the CLI: one transaction, named `cli` in the change history. */
function asCli<P, R extends pg.QueryResultRow>(db: CommandDb, stmt: Statement<P, R>, values: P) {
  return throughDoor(db, 'cli', (client) => runStatement(client, db.statements, stmt, values));
}

const previewFires = statement<
  { spec: string; n: number; timezone: string | null },
  { fire_at: Date; local_time: string; utc_offset: string; note: string | null }
>('preview', ['spec', 'n', 'timezone']);

const json = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const cut = (text: unknown, width: number) => {
  const value = text === null || text === undefined ? '-' : String(text);
  return value.length > width ? `${value.slice(0, width - 1)}…` : value;
};
/** An instant as a person reads it in a table: UTC, to the second. */
const when = (value: unknown) => (typeof value === 'string' ? value.slice(0, 19).replace('T', ' ') : '-');

/**
 * `baton schedule add|ls|show|pause|resume|trigger|rm|preview`: the schedules as the HTTP API shows
 * them (the columns are the field names of --json), changes named `cli` in the history.
 */
export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('add, list, show, pause, resume, trigger, remove, preview schedules');
  registerAdd(schedule);
  schedule
    .command('ls')
    .description('every schedule: state, timing, next fire (UTC), last status')
    .option('--state <state>', 'only in this state (active, paused, manual, done, ended, invalid)')
    .option('--task <task>', 'only of this task')
    .option('--json', 'print the schedules as JSON')
    .addHelpText('after', '\nExample:\n  baton schedule ls --state paused')
    .action(
      wrapHandler(async (options: { state?: string; task?: string; json?: boolean }, cmd: Command) => {
        const items = await withPool(cmd, (db) => listAll(db, options));
        if (options.json) return void json(items);
        const rows = items.map((s) => [
          cut(s.name, 24),
          cut(s.state, 7),
          cut(s.spec, 16),
          when(s.next_fire_at),
          cut(s.last_status, 9),
        ]);
        process.stdout.write(
          [...formatTable([['NAME', 'STATE', 'TIMING', 'NEXT FIRE (UTC)', 'LAST'], ...rows]), ''].join('\n'),
        );
      }),
    );
  schedule
    .command('show')
    .description('one schedule: its fields, next fires, last runs and last changes')
    .argument('<name>')
    .option('--json', 'print it as JSON')
    .addHelpText('after', '\nExample:\n  baton schedule show nightly-vacuum')
    .action(
      wrapHandler(async (name: string, options: { json?: boolean }, cmd: Command) => {
        const [row] = await withPool(cmd, (db) =>
          runStatement(db.pool, db.statements, getSchedule, { name, fires: 5 }),
        );
        if (!row) throw notFound(name);
        if (options.json) return void json(row.item);
        process.stdout.write(formatShow(row.item));
      }),
    );
  registerActions(schedule);
  registerPreview(schedule);
}

function registerActions(schedule: Command): void {
  for (const [action, enabled] of [
    ['pause', false],
    ['resume', true],
  ] as const) {
    schedule
      .command(action)
      .description(`${action} a schedule`)
      .argument('<name>')
      .addHelpText('after', `\nExample:\n  baton schedule ${action} nightly-vacuum`)
      .action(
        wrapHandler(async (name: string, _options: unknown, cmd: Command) => {
          await withPool(cmd, (db) => asCli(db, setEnabled, { name, enabled }));
          process.stdout.write(`schedule ${name} ${action === 'pause' ? 'paused' : 'resumed'}\n`);
        }),
      );
  }
  schedule
    .command('trigger')
    .description('run a schedule now, whatever its timing; prints the run id')
    .argument('<name>')
    .option('--payload <json>', "merged over the schedule's payload")
    .addHelpText('after', `\nExample:\n  baton schedule trigger report --payload '{"day": "2026-12-01"}'`)
    .action(
      wrapHandler(async (name: string, options: { payload?: string }, cmd: Command) => {
        const payload = options.payload === undefined ? null : jsonObject('--payload', options.payload);
        const [row] = await withPool(cmd, (db) => asCli(db, triggerSchedule, { name, payload }));
        process.stdout.write(`${row!.id}\n`);
      }),
    );
  schedule
    .command('rm')
    .description('remove a schedule; its runs stay unless --purge')
    .argument('<name>')
    .option('--purge', 'delete its runs too')
    .addHelpText('after', '\nExample:\n  baton schedule rm old-report --purge')
    .action(
      wrapHandler(async (name: string, options: { purge?: boolean }, cmd: Command) => {
        await withPool(cmd, (db) => asCli(db, unschedule, { name, purge: options.purge ?? false }));
        process.stdout.write(`schedule ${name} removed\n`);
      }),
    );
}

function registerPreview(schedule: Command): void {
  schedule
    .command('preview')
    .description('the next fires of a schedule or a spec, in UTC and local time, with DST notes')
    .argument('<name-or-spec>')
    .option('-n <count>', 'how many', '10')
    .option('--timezone <tz>', "the zone (default: the schedule's, else UTC)")
    .option('--json', 'print the fires as JSON')
    .addHelpText('after', `\nExample:\n  baton schedule preview '30 2 * * *' --timezone Europe/Berlin`)
    .action(
      wrapHandler(async (spec: string, options: { n: string; timezone?: string; json?: boolean }, cmd: Command) => {
        const fires = await withPool(cmd, ({ pool, statements }) =>
          runStatement(pool, statements, previewFires, {
            spec,
            n: Number(options.n),
            timezone: options.timezone ?? null,
          }),
        );
        if (options.json) return void json(fires);
        const rows = fires.map((f) => [
          (f.fire_at as Date).toISOString().slice(0, 19).replace('T', ' '),
          String(f.local_time).slice(0, 19),
          String(f.utc_offset),
          cut(f.note, 40),
        ]);
        process.stdout.write([...formatTable([['UTC', 'LOCAL', 'OFFSET', 'NOTE'], ...rows]), ''].join('\n'));
      }),
    );
}
/** Every schedule, page by page. */
async function listAll({ pool, statements }: CommandDb, filter: { state?: string; task?: string }): Promise<Item[]> {
  const items: Item[] = [];
  for (let after: string | null = null; ;) {
    const rows: Array<{ item: string; name: string }> = await runStatement(pool, statements, listSchedules, {
      ...filter,
      labels: null,
      after,
      limit: 500,
    });
    items.push(...rows.map((row) => JSON.parse(row.item) as Item));
    if (rows.length < 500) return items;
    after = rows.at(-1)!.name;
  }
}

function formatShow(s: Item): string {
  const fields = [
    'state',
    'spec',
    'timezone',
    'task',
    'payload',
    'enabled',
    'queue',
    'overlap',
    'misfire',
    'owner',
    'description',
    ...(s.managed_by ? ['managed_by', 'managed_file', 'drift'] : []),
  ];
  const lines = [
    `${String(s.name)}`,
    ...fields.map(
      (f) => `  ${f.padEnd(12)} ${cut(typeof s[f] === 'object' && s[f] !== null ? JSON.stringify(s[f]) : s[f], 64)}`,
    ),
  ];
  const list = (title: string, items: Item[], line: (i: Item) => string) =>
    items.length ? ['', title, ...items.slice(0, 5).map((i) => `  ${line(i)}`)] : [];
  lines.push(
    ...list(
      'next fires (UTC)',
      s.next_fires as Item[],
      (f) => `${when(f.fire_at)}${f.note ? `  ${cut(f.note, 40)}` : ''}`,
    ),
  );
  lines.push(
    ...list(
      'recent runs',
      s.recent_runs as Item[],
      (r) => `${String(r.id).padEnd(8)} ${when(r.fire_at)}  ${cut(r.status, 10)}`,
    ),
  );
  lines.push(
    ...list(
      'last changes',
      s.changes as Item[],
      (c) =>
        `${when(c.at)}  ${cut(c.op, 6)} ${cut(c.login, 10)} ${cut(c.via ?? c.application, 14)} ${cut(JSON.stringify(c.after ?? c.before), 20)}`,
    ),
  );
  return `${lines.join('\n')}\n`;
}

function notFound(name: string): Error {
  return Object.assign(new Error(`schedule "${name}" does not exist`), { code: 'BT404' });
}
