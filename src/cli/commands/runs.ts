import type { Command } from 'commander';

import type { RunStatus } from '../../runs/run.table.ts';
import { withBaton, wrapHandler } from '../runtime.ts';
import { formatTable } from '../table.ts';

interface RunsOptions {
  schedule?: string;
  status?: RunStatus;
  limit: string;
  json?: boolean;
}

/** `baton runs`: the run history, newest first. */
export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('recent runs, newest first')
    .option('--schedule <name>', 'only the runs of this schedule (or ad-hoc name)')
    .option('--status <status>', 'only runs with this status (pending, running, succeeded, failed, ...)')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'print the runs as JSON')
    .action(
      wrapHandler(async (options: RunsOptions, cmd: Command) => {
        const runs = await withBaton(cmd, (baton) =>
          baton.listRuns({ scheduleName: options.schedule, status: options.status, limit: Number(options.limit) }),
        );
        if (options.json) {
          process.stdout.write(`${JSON.stringify(runs)}\n`);
          return;
        }
        const rows = runs.map((run) => [
          run.id,
          run.status,
          run.scheduleName,
          run.task,
          run.fireAt.toISOString(),
          run.startedAt && run.finishedAt ? `${run.finishedAt.getTime() - run.startedAt.getTime()} ms` : '',
          run.error ?? run.reason ?? '',
        ]);
        const header = ['RUN', 'STATUS', 'NAME', 'TASK', 'FIRE AT', 'TOOK', 'ERROR'];
        process.stdout.write([...formatTable([header, ...rows]), ''].join('\n'));
      }),
    );
}
