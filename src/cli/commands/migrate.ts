import type { Command } from 'commander';

import { withBaton, wrapHandler } from '../runtime.ts';

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description("bring graphile-worker's and pgbaton's schemas up to date")
    .option('--json', 'print the result as JSON')
    .action(
      wrapHandler(async (options: { json?: boolean }, cmd: Command) => {
        const { applied } = await withBaton(cmd, (baton) => baton.migrate());
        if (options.json) process.stdout.write(`${JSON.stringify({ applied })}\n`);
        else process.stdout.write(applied.length ? `applied ${applied.join(', ')}\n` : 'already up to date\n');
      }),
    );
}
