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
  port?: string;
  host?: string;
  metricsPublic?: boolean;
}

/** Whether a node serves the HTTP API: `serve` always (port 8080 unless set), `start` when a port is set. */
type Serves = 'always' | 'with-port' | 'never';
const defaultPort = 8080;

/**
 * `start`, `scheduler` and `worker`: one process that migrates if behind (unless told
 * not to), starts the roles it is named for, and stops cleanly on SIGTERM/SIGINT.
 */
export function registerNodeCommands(program: Command): void {
  const variants: Array<{ name: string; description: string; roles: Roles; serves: Serves }> = [
    {
      name: 'start',
      description: 'run a scheduler node and a worker in one process, and the HTTP API when given a port',
      roles: { scheduler: true, worker: true },
      serves: 'with-port',
    },
    {
      name: 'scheduler',
      description: 'run a scheduler node (leader election, planning, firing)',
      roles: { scheduler: true, worker: false },
      serves: 'never',
    },
    {
      name: 'worker',
      description: 'run a worker that executes fired runs',
      roles: { scheduler: false, worker: true },
      serves: 'never',
    },
    {
      name: 'serve',
      description: `serve the HTTP API only (port ${defaultPort} unless --port or BATON_HTTP_PORT says)`,
      roles: { scheduler: false, worker: false },
      serves: 'always',
    },
  ];
  for (const { name, description, roles, serves } of variants) {
    const command = program
      .command(name)
      .description(description)
      .option('--no-migrate', "do not migrate at start (by default: when pgbaton's migrations are behind)");
    if (roles.worker) workerOptions(command);
    if (serves !== 'never') httpOptions(command);
    command.action(
      wrapHandler(async (options: NodeOptions, cmd: Command) => {
        // Every local user (and every shell task) reads /proc/<pid>/cmdline: no --database-url there.
        process.title = `baton ${name}`;
        const config = await commandConfig(cmd.optsWithGlobals<GlobalOptions>(), {
          worker: workerSettings(options),
          http: httpSettings(options),
        });
        const port = config.http.port ?? (serves === 'always' ? defaultPort : undefined);
        const baton = await batonFor(config);
        await untilSignal(
          async () => {
            if (options.migrate) await baton.migrate({ ifBehind: true });
            await baton.start({ ...roles, ...(serves !== 'never' && port !== undefined ? { http: { port } } : {}) });
          },
          () => baton.stop(),
        );
      }),
    );
  }
}

type Roles = Required<Pick<StartOptions, 'scheduler' | 'worker'>>;

/** The flags of a node that serves the HTTP API. */
function httpOptions(command: Command): void {
  command
    .option('--port <n>', 'serve the HTTP API on this port (BATON_HTTP_PORT)')
    .option('--host <address>', 'listen on this address (BATON_HTTP_HOST; default every interface)')
    .option('--metrics-public', 'answer /metrics without a token (BATON_METRICS_PUBLIC)');
}

function httpSettings(options: NodeOptions) {
  return {
    ...(options.port ? { port: options.port as unknown as number } : {}),
    ...(options.host ? { host: options.host } : {}),
    ...(options.metricsPublic ? { metricsPublic: true } : {}),
  };
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
