import { constants } from 'node:os';

import type { Command } from 'commander';

import { BatonError } from '../../core/errors.ts';
import { isFinal, type Run } from '../../runs/run.table.ts';
import { printRunOutput } from '../run-output.ts';
import { handlingSignals, repeatable, withBaton, wrapHandler } from '../runtime.ts';

interface RunOptions {
  name: string;
  timeout?: string;
  queue?: string;
  cwd?: string;
  env: string[];
  maxAttempts?: string;
  detach?: boolean;
  json?: boolean;
}

/** Exit code when `baton run` itself fails (bad input, no database), as `docker run` does: the command's own codes stay its own. */
const ownFailure = 125;

/**
 * `baton run -- CMD ARGS…`: an ad-hoc shell run on whichever worker offers shell,
 * its output printed as it comes, and the command's exit code as baton's. Ctrl-C
 * cancels the run (a second one stops following at once).
 */
export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a command once on a worker with shell enabled; print its output; exit with its exit code')
    .argument('<command...>', 'after --: one argument runs through /bin/sh -c, several run as argv')
    .option('--name <name>', 'the name the run is listed under', 'adhoc')
    .option('--timeout <interval>', "time limit ('30s', '5 minutes'); the whole process tree is killed past it")
    .option('--queue <name>', 'graphile-worker queue (runs in one queue run one at a time)')
    .option('--cwd <dir>', 'working directory on the worker')
    .option('--env <NAME=VALUE>', 'environment variable for the command (repeatable)', repeatable, [])
    .option('--max-attempts <n>', 'attempts, retried with backoff while the command fails')
    .option('--detach', 'print the run id and exit; follow it with `baton logs --follow`')
    .option('--json', 'print the finished run as JSON instead of its output')
    .action(
      wrapHandler(
        async (command: string[], options: RunOptions, cmd: Command) => {
          const run = await withBaton(cmd, async (baton) => {
            const runId = await baton.run('shell', shellPayload(command, options), {
              name: options.name,
              ...(options.timeout ? { timeout: options.timeout } : {}),
              ...(options.queue ? { queue: options.queue } : {}),
              ...(options.maxAttempts ? { maxAttempts: wholeNumber('--max-attempts', options.maxAttempts) } : {}),
            });
            const shell = (await baton.tasks()).find((task) => task.name === 'shell');
            if (!shell?.liveWorkers) {
              process.stderr.write(
                `baton: run ${runId} waits: no live worker offers the shell task (start one with \`baton worker --shell\`)\n`,
              );
            }
            if (options.detach) {
              process.stdout.write(`${runId}\n`);
              return undefined;
            }
            return followUntilFinal(
              runId,
              (signal) =>
                options.json
                  ? baton.followRun(runId, () => undefined, signal)
                  : printRunOutput(baton, runId, { follow: true, signal }),
              () => baton.cancel(runId),
            );
          });
          if (!run) return;
          if (options.json) process.stdout.write(`${JSON.stringify(run)}\n`);
          if (isFinal(run.status) && run.status !== 'succeeded') {
            process.stderr.write(`baton: run ${run.id} ${run.status.replace('_', ' ')}: ${run.error ?? ''}\n`);
          }
          process.exitCode = exitCodeOf(run);
        },
        { ownFailureExitCode: ownFailure },
      ),
    );
}

function wholeNumber(option: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new BatonError(`${option}: "${value}" is not a whole number`, 'invalid');
  return Number(value);
}

function shellPayload(command: string[], options: RunOptions): Record<string, unknown> {
  const env = Object.fromEntries(
    options.env.map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new BatonError(`--env ${pair}: expected NAME=VALUE`, 'invalid');
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
  );
  return {
    command: command.length === 1 ? command[0] : command,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env.length > 0 ? { env } : {}),
  };
}

/**
 * Follows the run until it is final. The first SIGINT/SIGTERM cancels it and keeps
 * following, so the cancel is seen to take effect; a second one stops at once.
 */
async function followUntilFinal(
  runId: string,
  follow: (signal: AbortSignal) => Promise<Run>,
  cancel: () => Promise<unknown>,
): Promise<Run> {
  const stopFollowing = new AbortController();
  let cancelling = false;
  const onSignal = () => {
    if (cancelling) {
      process.stderr.write(`baton: stopped following run ${runId}; it goes on (\`baton cancel ${runId}\`)\n`);
      stopFollowing.abort();
      return;
    }
    cancelling = true;
    process.stderr.write(`baton: cancelling run ${runId} (again to stop following)\n`);
    cancel().catch((error: unknown) => process.stderr.write(`baton: could not cancel: ${String(error)}\n`));
  };
  return handlingSignals(onSignal, () => follow(stopFollowing.signal));
}

/** The run's outcome as a shell would report it: its exit code, 128 + signal, 124 for a timeout (like timeout(1)). */
export function exitCodeOf(run: Run): number {
  if (run.status === 'succeeded') return 0;
  if (run.status === 'timed_out') return 124;
  // Cancelled, or no longer followed (a second Ctrl-C): as a shell reports an interrupt.
  if (run.status === 'cancelled' || !isFinal(run.status)) return 130;
  if (run.exitCode !== null && run.exitCode > 0) return run.exitCode;
  if (run.signal) return 128 + (constants.signals[run.signal as NodeJS.Signals] ?? 0);
  return 1;
}
