import type { Command } from 'commander';

import { withBaton, wrapHandler } from '../runtime.ts';
import { formatTable } from '../table.ts';

/** `baton tasks`: the catalog, and which live workers offer each task. */
export function registerTasks(program: Command): void {
  program
    .command('tasks')
    .description('the task catalog: every task a worker published, and the live workers that offer it')
    .option('--json', 'print the catalog as JSON')
    .action(
      wrapHandler(async (options: { json?: boolean }, cmd: Command) => {
        const tasks = await withBaton(cmd, (baton) => baton.tasks());
        if (options.json) {
          process.stdout.write(`${JSON.stringify(tasks)}\n`);
          return;
        }
        const rows = tasks.map((task) => [
          task.name,
          task.liveWorkers === 0 ? 'none (runs wait)' : task.offeredBy.join(','),
          task.description ?? '',
        ]);
        process.stdout.write([...formatTable([['TASK', 'OFFERED BY', 'DESCRIPTION'], ...rows]), ''].join('\n'));
      }),
    );
}
