import type { Command } from 'commander';

import { ExitCode, withBaton, wrapHandler } from '../runtime.ts';

/** `baton cancel RUN`: a pending run is cancelled at once, a running one through its worker. */
export function registerCancel(program: Command): void {
  program
    .command('cancel')
    .description('cancel a run: a pending one at once, a running one by killing it on its worker')
    .argument('<run>', 'run id')
    .option('--json', 'print the run as it now stands, as JSON')
    .action(
      wrapHandler(async (runId: string, options: { json?: boolean }, cmd: Command) => {
        const run = await withBaton(cmd, (baton) => baton.cancel(runId));
        if (options.json) process.stdout.write(`${JSON.stringify(run)}\n`);
        else if (run.status === 'cancelled') process.stdout.write(`run ${run.id} cancelled\n`);
        else if (run.status === 'running') process.stdout.write(`run ${run.id}: cancel sent to its worker\n`);
        else process.stdout.write(`run ${run.id} had already finished (${run.status}); nothing to cancel\n`);
        if (!['cancelled', 'running'].includes(run.status)) process.exitCode = ExitCode.failure;
      }),
    );
}
