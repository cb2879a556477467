import type { Command } from 'commander';

import { registerReport } from '../runtime.ts';

export function registerMigrate(program: Command): void {
  registerReport(program, {
    name: 'migrate',
    description: "bring graphile-worker's and pgbaton's schemas up to date",
    what: 'the result',
    read: (baton) => baton.migrate(),
    format: ({ applied }) => (applied.length ? `applied ${applied.join(', ')}\n` : 'already up to date\n'),
  });
}
