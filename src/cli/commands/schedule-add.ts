import type { Command } from 'commander';

import { BatonError } from '../../core/errors.ts';
import { runStatement, statement } from '../../db/statements.ts';
import { type Item, lockSchedule, throughDoor } from '../../schedules/door-statements.ts';
import { jsonObject, repeatable, withPool, wrapHandler } from '../runtime.ts';

const addSchedule = statement<
  { name: string; spec: string; task: string; payload: Item; options: Item },
  { name: string }
>('add_schedule', ['name', 'spec', 'task', 'payload', 'options']);

interface AddFlags {
  payload?: string;
  timezone?: string;
  queue?: string;
  timeout?: string;
  overlap?: string;
  misfire?: string;
  description?: string;
  label?: string[];
  paused?: boolean;
  options?: string;
}

/** `baton schedule add`: baton.schedule() for a name not taken yet, named `cli` in the history. */
export function registerAdd(schedule: Command): void {
  schedule
    .command('add')
    .description('add a schedule (refused if the name is taken); the database checks every field')
    .argument('<name>')
    .argument('<spec>', "a cron, 'every <interval>', an ISO 8601 timestamp or duration, or '' for manual only")
    .argument('<task>', 'shell, sql, http, or a task of your app')
    .option('--payload <json>', "the task's payload, a JSON object", '{}')
    .option('--timezone <tz>', 'the zone the cron is read in (default UTC)')
    .option('--queue <name>', 'runs in one queue run one at a time')
    .option('--timeout <interval>', "a run is stopped past it ('10 minutes')")
    .option('--overlap <policy>', 'allow, skip, queue or replace')
    .option('--misfire <policy>', 'skip, latest or all')
    .option('--description <text>')
    .option('--label <key=value>', 'a label (again for more)', repeatable)
    .option('--paused', 'add it paused')
    .option('--options <json>', 'any other fields, as a JSON object (max_attempts, jitter, ...)')
    .addHelpText(
      'after',
      `\nExample:\n  baton schedule add nightly-vacuum '0 3 * * *' sql --payload '{"sql": "vacuum analyze"}' --timezone Europe/Berlin`,
    )
    .action(
      wrapHandler(async (name: string, spec: string, task: string, flags: AddFlags, cmd: Command) => {
        const options: Item = {
          ...(flags.options === undefined ? {} : jsonObject('--options', flags.options)),
          ...(flags.timezone === undefined ? {} : { timezone: flags.timezone }),
          ...(flags.queue === undefined ? {} : { queue: flags.queue }),
          ...(flags.timeout === undefined ? {} : { timeout: flags.timeout }),
          ...(flags.overlap === undefined ? {} : { overlap: flags.overlap }),
          ...(flags.misfire === undefined ? {} : { misfire: flags.misfire }),
          ...(flags.description === undefined ? {} : { description: flags.description }),
          ...(flags.paused ? { enabled: false } : {}),
          ...(flags.label ? { labels: labelsOf(flags.label) } : {}),
        };
        const payload = jsonObject('--payload', flags.payload ?? '{}');
        await withPool(cmd, (db) =>
          throughDoor(db, 'cli', async (client) => {
            const [taken] = await runStatement(client, db.statements, lockSchedule, { name });
            if (taken) throw new BatonError(`name: a schedule "${name}" exists`, 'clash', 'name');
            await runStatement(client, db.statements, addSchedule, { name, spec, task, payload, options });
          }),
        );
        process.stdout.write(`schedule ${name} added\n`);
      }),
    );
}

function labelsOf(pairs: string[]): Item {
  return Object.fromEntries(
    pairs.map((pair) => {
      const at = pair.indexOf('=');
      if (at < 1) throw new BatonError(`--label: "${pair}" must be key=value`, 'invalid', '--label');
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
}
