import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import getPort from 'get-port';
import pg from 'pg';

import { waitFor } from './wait.ts';

/** Where Debian's package puts it (.ci/system-packages installs it); undefined when it is not installed. */
export const pgbouncerBin = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer', '/usr/local/bin/pgbouncer'].find(existsSync);

export interface Pgbouncer {
  /** The target URL, with the pooler's host and port. */
  url: string;
  stop(): Promise<void>;
}

/**
 * A real PgBouncer in front of `targetUrl`'s server, in the given pool mode, trusting every
 * client. It refuses to run as root, so as root it runs as the `postgres` user.
 */
export async function startPgbouncer(targetUrl: string, poolMode: 'transaction' | 'session'): Promise<Pgbouncer> {
  if (!pgbouncerBin) throw new Error('pgbouncer is not installed');
  const target = new URL(targetUrl);
  const port = await getPort();
  const dir = mkdtempSync(join(tmpdir(), 'baton-pgbouncer-'));
  chmodSync(dir, 0o755);
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || 5432} user=${decodeURIComponent(target.username)}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = any',
      `pool_mode = ${poolMode}`,
      'max_client_conn = 500',
      'default_pool_size = 20',
      'ignore_startup_parameters = extra_float_digits,options',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  const child: ChildProcess = spawn(pgbouncerBin, [ini], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(asRoot ? { uid: idOf('-u'), gid: idOf('-g') } : {}),
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = new URL(targetUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  await waitFor(`pgbouncer on port ${port} (${stderr})`, async () => {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${stderr}`);
    const client = new pg.Client({ connectionString: url.toString() });
    try {
      await client.connect();
      await client.query('select 1');
      return true;
    } finally {
      await client.end().catch(() => undefined);
    }
  });
  return {
    url: url.toString(),
    async stop() {
      if (child.exitCode === null) {
        // SIGTERM: immediate shutdown (SIGINT would wait for every client to leave).
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function idOf(flag: '-u' | '-g'): number {
  return Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
}
