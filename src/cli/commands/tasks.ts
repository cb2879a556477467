import type { Command } from 'commander';

import type { CatalogTask } from '../../nodes/task-catalog.ts';
import { registerReport } from '../runtime.ts';
import { formatTable } from '../table.ts';

/** `baton tasks`: the catalog, and which live workers offer each task. */
export function registerTasks(program: Command): void {
  registerReport(program, {
    name: 'tasks',
    description: 'the task catalog: every task a worker published, and the live workers that offer it',
    what: 'the catalog',
    read: (baton) => baton.tasks(),
    format: formatTasks,
  });
}

function formatTasks(tasks: CatalogTask[]): string {
  const rows = tasks.map((task) => [
    task.name,
    task.liveWorkers === 0 ? 'none (runs wait)' : task.offeredBy.join(','),
    task.description ?? '',
  ]);
  return [...formatTable([['TASK', 'OFFERED BY', 'DESCRIPTION'], ...rows]), ''].join('\n');
}
