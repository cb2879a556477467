// Workers through graphile-worker: the shell and sql tasks, timeouts that kill whole
// process trees, captured output, and shell only where the worker enables it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { useBaton } from './helpers/baton.ts';
import type { TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

/** A process counts as gone once it no longer exists or is a zombie nobody reaped yet. */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function finishedRun(db: TestDatabase, runId: string) {
  return waitFor(`run ${runId} to finish`, async () => {
    const run = await db.one(`select * from baton.runs where id = $1`, [runId]);
    return run?.finished_at && run;
  });
}

async function trigger(db: TestDatabase, name: string, task: string, payload: object, options: object = {}) {
  await db.query(`select baton.schedule($1, null, $2, $3, $4)`, [name, task, payload, options]);
  const { run_id } = await db.one(`select baton.trigger($1) as run_id`, [name]);
  return run_id as string;
}

describe('a worker with shell enabled', () => {
  let db: TestDatabase;
  useBaton((env) => (db = env.db), { config: { worker: { shell: true, outputLimitBytes: 64 } } }, { scheduler: false });

  it('kills the whole process tree when a run times out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'baton-shell-'));
    const pidFile = join(dir, 'pids');
    const runId = await trigger(
      db,
      'tree',
      'shell',
      { command: `sleep 300 & echo $! > ${pidFile}; echo $$ >> ${pidFile}; sleep 300` },
      { timeout: '1 second' },
    );
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'timed_out');
    assert.match(run.error, /timed out after 1000 ms/);
    const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
    assert.equal(pids.length, 2);
    await waitFor('every process of the tree to be gone', () => pids.every((pid) => !isRunning(pid)), {
      timeoutMs: 3_000,
    });
  });

  it('records exit code, stdout and stderr of a failing command', async () => {
    const run = await finishedRun(
      db,
      await trigger(db, 'streams', 'shell', { command: 'echo out; echo err >&2; exit 3' }),
    );
    assert.equal(run.status, 'failed');
    assert.equal(run.exit_code, 3);
    assert.equal(run.stdout, 'out\n');
    assert.equal(run.stderr, 'err\n');
    assert.equal(run.error, 'exit code 3');
  });

  it('runs an argv array without a shell, with env and cwd', async () => {
    const run = await finishedRun(
      db,
      await trigger(db, 'argv', 'shell', {
        command: ['sh', '-c', 'printf "%s in %s" "$GREETING" "$(pwd)"'],
        env: { GREETING: 'hi' },
        cwd: '/tmp',
      }),
    );
    assert.equal(run.status, 'succeeded');
    assert.equal(run.stdout, 'hi in /tmp');
  });

  it('keeps only the tail of long output, starting at a whole line', async () => {
    const run = await finishedRun(db, await trigger(db, 'long', 'shell', { command: 'seq 1 1000' }));
    assert.equal(run.status, 'succeeded');
    assert.ok(run.stdout.length <= 64);
    assert.ok(run.stdout.endsWith('999\n1000\n'));
    assert.match(run.stdout, /^\d+\n/, 'the first kept line is whole');
    assert.equal(Number(run.stdout.split('\n')[0]) + run.stdout.trim().split('\n').length - 1, 1000);
  });

  it('runs sql outside a transaction block, so VACUUM works', async () => {
    const run = await finishedRun(db, await trigger(db, 'vacuum', 'sql', { sql: 'vacuum analyze baton.runs' }));
    assert.equal(run.status, 'succeeded', run.error);
    assert.deepEqual(run.result, { command: 'VACUUM', rowCount: null });
  });

  it('cancels a sql statement that exceeds the timeout', async () => {
    const run = await finishedRun(
      db,
      await trigger(db, 'slow-sql', 'sql', { sql: 'select pg_sleep(30)' }, { timeout: '1 second' }),
    );
    assert.equal(run.status, 'timed_out');
  });
});

describe('a worker without shell', () => {
  let db: TestDatabase;
  useBaton((env) => (db = env.db), { config: { worker: { shell: false } } }, { scheduler: false });

  it('never takes a shell run, and says so in baton.nodes', async () => {
    const shellRun = await trigger(db, 'shell-run', 'shell', { command: 'echo should not run' });
    const sqlRun = await trigger(db, 'sql-run', 'sql', { sql: 'select 1' });
    assert.equal((await finishedRun(db, sqlRun)).status, 'succeeded');
    const run = await db.one(`select status, started_at from baton.runs where id = $1`, [shellRun]);
    assert.deepEqual(run, { status: 'pending', started_at: null });
    const node = await db.one(`select roles, tasks from baton.cluster`);
    assert.deepEqual(node, { roles: ['worker'], tasks: ['sql'] });
  });
});
