import { z } from 'zod';

import { BatonError } from '../core/errors.ts';

const identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case Postgres identifier');
const ms = (min: number) => z.coerce.number().int().min(min);

/** Every setting, with its default. The one place defaults live. */
export const configSchema = z
  .object({
    /** Postgres connection string; absent means "use the pool you were given" or, for `baton dev`, an embedded server. */
    databaseUrl: z.string().min(1).optional(),
    /** Schema of pgbaton's tables; two installations can share a database under two schemas. */
    schema: identifier.default('baton'),
    /** Schema of graphile-worker's tables. */
    workerSchema: identifier.default('graphile_worker'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** How often a node updates its row in baton.nodes. */
    nodeHeartbeatMs: ms(100).default(5_000),
    /** A node silent for this long is declared dead by the leader: its runs are retried or failed, its locks freed. */
    nodeDeadAfterMs: ms(1_000).default(30_000),
    scheduler: z
      .object({
        /** Heartbeat on the leader-lock session. */
        heartbeatMs: ms(10).default(500),
        /** idle_session_timeout of the leader-lock session: a frozen leader loses the lock after this. */
        sessionTimeoutMs: ms(100).default(2_000),
        /** Full reload of every schedule, as a safety net under LISTEN/NOTIFY. */
        resyncIntervalMs: ms(1_000).default(300_000),
        /** A fire later than this is a misfire and follows the schedule's misfire policy. */
        misfireGraceMs: ms(0).default(1_000),
        /**
         * Most fires in one fire statement: an instant with more due fires is enqueued in
         * several, so it never holds the lock session for long.
         */
        fireBatchSize: ms(1).default(5_000),
      })
      .prefault({}),
    worker: z
      .object({
        concurrency: ms(1).default(10),
        /** Run the `shell` task. Off unless the operator turns it on. */
        shell: z.boolean().default(false),
        /** graphile-worker's poll interval (it also wakes on LISTEN). */
        pollIntervalMs: ms(50).default(2_000),
        /** Bytes of stdout and of stderr kept on a run (the tail). */
        outputLimitBytes: ms(0).default(64 * 1024),
        /** Between SIGTERM and SIGKILL when a shell run times out or is cancelled. */
        killGraceMs: ms(0).default(5_000),
        /** How often a running run's output is saved, so `baton logs --follow` sees it; 0 saves it only at the end. */
        outputFlushMs: ms(0).default(1_000),
        /**
         * Commands the shell task may run, as patterns (`*` and `**` match only characters
         * the shell takes literally); empty allows every command. See docs/security.md.
         */
        shellAllow: z.array(z.string().min(1)).default([]),
        /** Under an allow-list, the variables payload.env may set: names, or prefixes ending in `*`. */
        shellEnvAllow: z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/)).default([]),
        /** The OS user shell commands run as; the worker must run as root. Unset: the worker's own user. */
        shellUser: z.string().min(1).optional(),
        /** Run the `sql` task. */
        sql: z.boolean().default(true),
        /** Databases a sql run may name in payload.database, by name: connection strings stay in the worker's config. */
        sqlDatabases: z
          .record(z.string().regex(/^(?!constructor$)[a-z][a-z0-9_]{0,62}$/), z.string().min(1))
          .default({}),
        /**
         * Logins by role: an sql run executes as the role that scheduled it, through the
         * worker's own connection when that is the role's, else through its login here.
         */
        sqlLogins: z.record(z.string().min(1), z.string().min(1)).default({}),
        /**
         * Hosts the http task may call (`api.example.com`, `*.example.com`, `host:8080`, `*`
         * for any). The task is offered only where this is set.
         */
        httpAllow: z
          .array(
            z
              .string()
              .regex(
                /^(\*|(\*\.)?[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?$/,
                'must be a host name, *.domain, or *, with an optional :port',
              ),
          )
          .default([]),
        /** Values http headers may refer to as {"secret": "NAME"}: from BATON_SECRET_NAME, never stored in the database. */
        secrets: z.record(z.string().regex(/^[A-Z0-9_]+$/), z.string()).default({}),
      })
      .prefault({}),
    retention: z
      .object({
        /** Runs kept per schedule, newest first (pending and running ones count, and are never deleted); 0 keeps any number. */
        runsPerSchedule: ms(0).default(1_000),
        /** Finished runs older than this many days are deleted (the newest of each schedule stays); 0 keeps them. */
        runsDays: z.coerce.number().min(0).default(30),
        /** baton.events older than this many days are deleted; 0 keeps them. */
        eventsDays: z.coerce.number().min(0).default(30),
        /** Rows deleted per statement, so pruning never holds locks for long. */
        batchSize: ms(1).default(1_000),
        /** How often the leader prunes. */
        intervalMs: ms(100).default(60_000),
      })
      .prefault({}),
    http: z
      .object({
        /** The port `baton serve` listens on; `baton start` serves only when it is set. */
        port: z.coerce.number().int().min(0).max(65_535).optional(),
        /** The address it listens on: every interface by default, as a server in a container must. */
        host: z.string().min(1).default('0.0.0.0'),
        /** Whether /metrics answers without a token (for a scraper inside a trusted network). */
        metricsPublic: z.boolean().default(false),
      })
      .prefault({}),
  })
  .refine((config) => config.nodeDeadAfterMs > 2 * config.nodeHeartbeatMs, {
    path: ['nodeDeadAfterMs'],
    message: 'must be more than twice nodeHeartbeatMs, or live nodes would be declared dead',
  });

export type Config = Readonly<z.infer<typeof configSchema>>;
export type ConfigInput = z.input<typeof configSchema>;

/** Validates settings and fills defaults; the message names every bad setting. */
export function resolveConfig(input: ConfigInput): Config {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'config'}: ${issue.message}`);
    throw new BatonError(
      `invalid configuration: ${problems.join('; ')}`,
      'invalid',
      parsed.error.issues[0]?.path.join('.'),
    );
  }
  return Object.freeze(parsed.data);
}
