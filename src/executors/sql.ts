import { errorMessage } from '../core/errors.ts';
import { maxTimerMs, sleep } from '../core/sleep.ts';
import type { Client, Connections } from '../db/pool.ts';
import {
  refused,
  RunAbortedError,
  type TaskContext,
  type TaskDefinition,
  TaskFailedError,
  type TaskOutcome,
} from './executor.ts';

export interface SqlSettings {
  /** Databases a run may name in payload.database: name → connection string. */
  sqlDatabases: Readonly<Record<string, string>>;
  /**
   * Logins by role name: connection strings (for the worker's own database; with a named
   * database, their user and password) through which a run executes as its owner.
   */
  sqlLogins: Readonly<Record<string, string>>;
}

/** Between two cancels of the same run's statement. */
const cancelRetryMs = 250;

/** SQLSTATE of a statement cancelled, by statement_timeout or by pg_cancel_backend. */
const queryCanceled = '57014';

/**
 * The `sql` task: runs payload.sql like pg_cron does, on a connection of its own
 * (so nothing it sets leaks into a pool) outside any transaction block (so VACUUM
 * works), with statement_timeout set to the run's time limit: the server stops the
 * statement even if the worker dies. payload.database names a database from the
 * worker's config; without it the run uses the worker's own database. Each
 * statement's command tag goes to stdout, notices to stderr.
 *
 * It runs as the role that scheduled it (the run's owner), never with more: through the
 * worker's connection if that logs in as the owner, else through the owner's login in
 * sqlLogins, else not at all. SET ROLE would be no boundary: the SQL could RESET it.
 */
export function sqlTask(connections: Connections, settings: SqlSettings): TaskDefinition {
  return {
    run: async (payload, context) => {
      const { sql: text, database } = payload;
      if (typeof text !== 'string' || text.trim() === '') throw refused('payload.sql must be a non-empty string');
      const route = routeOf(database, context.owner, settings);
      const connect = (purpose: string) =>
        connections.connectClient(`pgbaton:${purpose}:${context.runId}`, route.connectionString);
      const client = await connectAs(context.owner, () => connect('run'), route);
      client.on('error', () => undefined); // a session ended under the statement fails the query; that is enough
      client.on('notice', (notice) => context.stderr.write(`${notice.severity ?? 'NOTICE'}:  ${notice.message}\n`));
      // pg sets processID from the server's BackendKeyData; its types leave it out.
      const backendPid = (client as Client & { processID: number }).processID;
      // A cancel that reaches the server between two statements is lost, so an abort
      // keeps cancelling until the statements are done.
      let done = false;
      const cancel = async () => {
        while (!done) {
          await cancelBackend(() => connect('cancel'), backendPid);
          await sleep(cancelRetryMs);
        }
      };
      const onAbort = () => void cancel();
      context.signal.addEventListener('abort', onAbort, { once: true });
      try {
        context.signal.throwIfAborted(); // aborted while connecting
        return await execute(client, text, context);
      } catch (error) {
        const { code } = error as { code?: string };
        if (code === queryCanceled && /statement timeout/.test(errorMessage(error))) {
          throw new RunAbortedError(`timed out after ${context.timeoutMs} ms (statement_timeout)`, 'timed_out');
        }
        throw new TaskFailedError(code ? `${errorMessage(error)} (SQLSTATE ${code})` : errorMessage(error));
      } finally {
        done = true;
        context.signal.removeEventListener('abort', onAbort);
        await client.end().catch(() => undefined);
      }
    },
  };
}

/** Where a run's SQL goes: the database it names (or the 'default' entry), as the owner's login where one is configured. */
function routeOf(
  database: unknown,
  owner: string,
  settings: SqlSettings,
): { connectionString: string | undefined; hasLogin: boolean; database: string } {
  // A 'default' entry routes runs that name no database (to a replica or another host, say).
  // An own entry only: a name like "constructor" is no database.
  const name = database === undefined ? 'default' : String(database);
  const target = Object.hasOwn(settings.sqlDatabases, name) ? settings.sqlDatabases[name] : undefined;
  if (database !== undefined && target === undefined) {
    const configured = Object.keys(settings.sqlDatabases).join(', ') || 'none';
    throw refused(
      `payload.database: no database "${String(database)}" is configured on this worker (configured: ${configured})`,
    );
  }
  const login = Object.hasOwn(settings.sqlLogins, owner) ? settings.sqlLogins[owner] : undefined;
  return {
    connectionString: login === undefined || target === undefined ? (login ?? target) : withLogin(target, login),
    hasLogin: login !== undefined,
    database: database === undefined ? 'the database' : String(database),
  };
}

/** Runs the SQL under the run's time limit; each statement's command tag goes to stdout. */
async function execute(client: Client, text: string, context: TaskContext): Promise<TaskOutcome> {
  // statement_timeout holds at most 2^31-1 ms, as a Node timer does; past that the
  // run's own timeout (task-wrapper) cancels the statement.
  if (context.timeoutMs !== null && context.timeoutMs <= maxTimerMs) {
    await client.query(`select set_config('statement_timeout', $1, false)`, [String(Math.ceil(context.timeoutMs))]);
  }
  const result = await client.query(text);
  const results = Array.isArray(result) ? result : [result];
  for (const each of results) {
    if (each.command) context.stdout.write(`${each.command}${each.rowCount === null ? '' : ` ${each.rowCount}`}\n`);
  }
  const last = results.at(-1);
  return { result: { command: last?.command ?? null, rowCount: last?.rowCount ?? null } };
}

/** A connection whose login is the run's owner; refused (and closed) if it is another role's. */
async function connectAs(
  owner: string,
  connect: () => Promise<Client>,
  { hasLogin, database }: { hasLogin: boolean; database: string },
): Promise<Client> {
  let client: Client | undefined;
  let login: string;
  try {
    client = await connect();
    login = (await client.query<{ login: string }>('select session_user as login')).rows[0]!.login;
  } catch (error) {
    await client?.end().catch(() => undefined);
    throw new TaskFailedError(`could not connect to ${database}: ${errorMessage(error)}`);
  }
  if (login === owner) return client;
  await client.end().catch(() => undefined);
  throw refused(
    `the sql task runs as the role that scheduled it, ${owner}; this worker connects as ${login}` +
      (hasLogin ? ` with ${owner}'s login` : ` and has no login for ${owner} (BATON_SQL_LOGIN_<ROLE>)`),
  );
}

/** The database connection string with the login's user and password. */
function withLogin(database: string, login: string): string {
  try {
    const url = new URL(database);
    const credentials = new URL(login);
    url.username = credentials.username;
    url.password = credentials.password;
    return url.toString();
  } catch {
    throw refused('payload.database: its connection string and the login must both be URLs (postgres://…)');
  }
}

/** Cancels the statement of a backend from a session of its own (same database, same role). */
async function cancelBackend(connect: () => Promise<Client>, pid: number): Promise<void> {
  const client = await connect().catch(() => undefined);
  if (!client) return;
  client.on('error', () => undefined);
  await client.query('select pg_cancel_backend($1)', [pid]).catch(() => undefined);
  await client.end().catch(() => undefined);
}
