import type { Command } from 'commander';

import { printRunOutput } from '../run-output.ts';
import { handlingSignals, withBaton, wrapHandler } from '../runtime.ts';

/** `baton logs RUN [--follow]`: a run's stdout and stderr, as kept on the run. */
export function registerLogs(program: Command): void {
  program
    .command('logs')
    .description("print a run's output (stdout to stdout, stderr to stderr)")
    .argument('<run>', 'run id')
    .option('-f, --follow', 'keep printing as the run goes on, until it is final')
    .action(
      wrapHandler(async (runId: string, options: { follow?: boolean }, cmd: Command) => {
        const stop = new AbortController();
        await handlingSignals(
          () => stop.abort(),
          () =>
            withBaton(cmd, (baton) =>
              printRunOutput(baton, runId, { follow: options.follow ?? false, signal: stop.signal }),
            ),
        );
      }),
    );
}
