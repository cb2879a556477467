import type { Command } from 'commander';

import type { StartOptions } from '../../baton.ts';
import { batonFor, commandConfig, type GlobalOptions, repeatable, untilSignal, wrapHandler } from '../runtime.ts';

interface NodeOptions {
  shell?: boolean;
  shellAllow?: string[];
  shellEnvAllow?: string[];
  shellUser?: string;
  httpAllow?: string[];
  sql: boolean;
  concurrency?: string;
  migrate: boolean;
}

/**
 * `start`, `scheduler` and `worker`: one process that migrates if behind (unless told
 * not to), starts the roles it is named for, and stops cleanly on SIGTERM/SIGINT.
 */
export function registerNodeCommands(program: Command): void {
  const variants: Array<{ name: string; description: string; roles: Required<StartOptions> }> = [
    {
      name: 'start',
      description: 'run a scheduler node and a worker in one process',
      roles: { scheduler: true, worker: true },
    },
    {
      name: 'scheduler',
      description: 'run a scheduler node (leader election, planning, firing)',
      roles: { scheduler: true, worker: false },
    },
    { name: 'worker', description: 'run a worker that executes fired runs', roles: { scheduler: false, worker: true } },
  ];
  for (const { name, description, roles } of variants) {
    const command = program
      .command(name)
      .description(description)
      .option('--no-migrate', "do not migrate at start (by default: when pgbaton's migrations are behind)");
    if (roles.worker) workerOptions(command);
    command.action(
      wrapHandler(async (options: NodeOptions, cmd: Command) => {
        // Every local user (and every shell task) reads /proc/<pid>/cmdline: no --database-url there.
        process.title = `baton ${name}`;
        const config = await commandConfig(cmd.optsWithGlobals<GlobalOptions>(), { worker: workerSettings(options) });
        const baton = await batonFor(config);
        await untilSignal(
          async () => {
            if (options.migrate) await baton.migrate({ ifBehind: true });
            await baton.start(roles);
          },
          () => baton.stop(),
        );
      }),
    );
  }
}

/** The flags of a node that runs a worker. */
function workerOptions(command: Command): void {
  command
    .option('--shell', 'offer the shell task (runs commands from schedules: enable only where that is wanted)')
    .option(
      '--shell-allow <pattern>',
      "with --shell: only commands matching a pattern ('/opt/jobs/*.sh', 'pg_dump **'); repeatable",
      repeatable,
    )
    .option(
      '--shell-env-allow <name>',
      "with --shell-allow: a variable payload.env may set ('MODE', 'APP_*'); repeatable, none by default",
      repeatable,
    )
    .option('--shell-user <user>', 'with --shell: run commands as this OS user (the worker runs as root)')
    .option(
      '--http-allow <host>',
      "offer the http task for these hosts ('api.example.com', '*.internal'); repeatable",
      repeatable,
    )
    .option('--no-sql', 'do not offer the sql task')
    .option('--concurrency <n>', 'runs executed at once');
}

/** The worker settings those flags give, only where one was given (the rest come from the environment). */
function workerSettings(options: NodeOptions) {
  return {
    ...(options.shell ? { shell: true } : {}),
    ...(options.shellAllow ? { shellAllow: options.shellAllow } : {}),
    ...(options.shellEnvAllow ? { shellEnvAllow: options.shellEnvAllow } : {}),
    ...(options.shellUser ? { shellUser: options.shellUser } : {}),
    ...(options.httpAllow ? { httpAllow: options.httpAllow.flatMap((hosts) => hosts.split(',')) } : {}),
    ...(options.sql === false ? { sql: false } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
  };
}
