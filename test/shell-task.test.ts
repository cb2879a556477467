// The shell task through real workers: process trees killed on timeout and cancel,
// output kept as tails and saved while a command runs, the allow-list, and shell
// only where the worker enables it.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { useBaton } from './helpers/baton.ts';
import type { TestDatabase } from './helpers/db.ts';
import { finishedRun, jobsLeft, runWhen, triggerRun } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

/** A process counts as gone once it no longer exists or is a zombie nobody reaped yet. */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** A command that starts a background child and sleeps, writing both pids to a file. */
async function processTree() {
  const pidFile = join(await mkdtemp(join(tmpdir(), 'baton-shell-')), 'pids');
  return {
    command: `sleep 300 & echo $! > ${pidFile}; echo $$ >> ${pidFile}; echo started; sleep 300`,
    async gone() {
      const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
      assert.equal(pids.length, 2);
      await waitFor('every process of the tree to be gone', () => pids.every((pid) => !isRunning(pid)), {
        timeoutMs: 3_000,
      });
    },
  };
}

describe('a worker with shell enabled', () => {
  let db: TestDatabase;
  useBaton(
    (env) => (db = env.db),
    { config: { worker: { shell: true, outputLimitBytes: 64, outputFlushMs: 50 } } },
    { scheduler: false },
  );

  it('kills the whole process tree when a run times out', async () => {
    const tree = await processTree();
    const run = await finishedRun(
      db,
      await triggerRun(db, 'tree', 'shell', { command: tree.command }, { timeout: '1 second' }),
    );
    assert.equal(run.status, 'timed_out');
    assert.match(run.error!, /timed out after 1000 ms/);
    await tree.gone();
  });

  it('kills the whole process tree when a running run is cancelled, keeping what it printed', async () => {
    const tree = await processTree();
    const runId = await triggerRun(db, 'cancel-tree', 'shell', { command: tree.command });
    // Output is saved while the command runs: a follower sees it before the end.
    await runWhen(
      db,
      runId,
      'to show its output while running',
      (run) => run.status === 'running' && run.stdout === 'started\n',
    );
    await db.query(`select baton.cancel($1)`, [runId]);
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'cancelled');
    assert.equal(run.stdout, 'started\n');
    assert.equal(run.signal, 'SIGTERM');
    await tree.gone();
  });

  it('stops at the payload timeout when it comes before the schedule timeout', async () => {
    const run = await finishedRun(
      db,
      await triggerRun(db, 'payload-timeout', 'shell', { command: 'sleep 30', timeout: 1 }, { timeout: '1 hour' }),
    );
    assert.equal(run.status, 'timed_out');
    assert.match(run.error!, /timed out after 1000 ms/);
  });

  it("runs to its end under a '30 days' timeout (past a Node timer's 24.8 days)", async () => {
    const run = await finishedRun(
      db,
      await triggerRun(db, 'month', 'shell', { command: 'sleep 2; echo done' }, { timeout: '30 days' }),
    );
    assert.equal(run.status, 'succeeded', run.error ?? '');
    assert.equal(run.stdout, 'done\n');
  });

  it('records exit code, stdout and stderr of a failing command', async () => {
    const run = await finishedRun(
      db,
      await triggerRun(db, 'streams', 'shell', { command: 'echo out; echo err >&2; exit 3' }),
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
      await triggerRun(db, 'argv', 'shell', {
        command: ['sh', '-c', 'printf "%s in %s" "$GREETING" "$(pwd)"'],
        env: { GREETING: 'hi' },
        cwd: '/tmp',
      }),
    );
    assert.equal(run.status, 'succeeded');
    assert.equal(run.stdout, 'hi in /tmp');
  });

  it('keeps only the tail of long output, starting at a whole line, and counts all of it', async () => {
    const run = await finishedRun(db, await triggerRun(db, 'long', 'shell', { command: 'seq 1 1000' }));
    assert.equal(run.status, 'succeeded');
    assert.ok(run.stdout!.length <= 64);
    assert.ok(run.stdout!.endsWith('999\n1000\n'));
    assert.match(run.stdout!, /^\d+\n/, 'the first kept line is whole');
    assert.equal(Number(run.stdout!.split('\n')[0]) + run.stdout!.trim().split('\n').length - 1, 1000);
    assert.equal(Number(run.stdout_bytes), 3893); // every byte of `seq 1 1000`
  });

  describe('the environment of a command', () => {
    const secrets = { PGPASSWORD: 'pg-password-never-shown', BATON_SECRET_TOKEN: 'token-never-shown' };
    before(() => Object.assign(process.env, secrets));
    after(() => {
      for (const name of Object.keys(secrets)) delete process.env[name];
    });

    it("has the worker's environment without its credentials, and names its run", async () => {
      const check = await finishedRun(
        db,
        await triggerRun(db, 'env-check', 'shell', {
          command:
            'echo "${PGPASSWORD:-none} ${BATON_SECRET_TOKEN:-none} ${DATABASE_URL:-none} ${PATH:+path} $BATON_SCHEDULE"',
        }),
      );
      assert.equal(check.stdout, 'none none none path env-check\n');
    });
  });

  it('refuses, at the statement, a payload the shell task does not take', async () => {
    await assert.rejects(
      db.query(`select baton.schedule('typo', null, 'shell', '{"command":"date","cwdir":"/tmp"}')`),
      (error: Error & { code?: string; column?: string }) =>
        error.code === 'BT400' &&
        error.column === 'payload' &&
        /^payload\.cwdir: the shell task takes no "cwdir"/.test(error.message),
    );
  });
});

/** An executable script at `path` that touches `marker`. */
function toucher(path: string, marker: string): void {
  writeFileSync(path, `#!/bin/sh\ntouch ${marker}\n`);
  chmodSync(path, 0o755);
}

describe('a worker with a shell allow-list', () => {
  let db: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'baton-allow-'));
  const marker = join(dir, 'ran');
  const jobs = join(dir, 'jobs');
  before(() => {
    mkdirSync(jobs);
    writeFileSync(join(jobs, 'a.sh'), '#!/bin/sh\necho a "$@"\n');
    chmodSync(join(jobs, 'a.sh'), 0o755);
    toucher(join(jobs, 'b.sh'), marker);
    // What a leading no-break space would run instead of /bin/date, from the run's cwd.
    mkdirSync(join(dir, '\u00a0', 'bin'), { recursive: true });
    toucher(join(dir, '\u00a0', 'bin', 'date'), marker);
  });
  useBaton(
    (env) => (db = env.db),
    {
      config: {
        worker: { shell: true, shellAllow: ['echo **', '/bin/date', `${jobs}/*.sh`], shellEnvAllow: ['MODE'] },
      },
    },
    { scheduler: false },
  );

  it('runs a command the list allows', async () => {
    const run = await finishedRun(db, await triggerRun(db, 'hello', 'shell', { command: 'echo hello world' }));
    assert.equal(run.status, 'succeeded');
    assert.equal(run.stdout, 'hello world\n');
  });

  it('fails any other command with a clear message, runs nothing, and does not retry', async () => {
    for (const [name, command] of [
      ['outside', `touch ${marker}`],
      ['chained', `echo hi; touch ${marker}`],
      ['substituted', `echo $(touch ${marker})`],
      ['argv', ['touch', marker]],
      ['no-break-space', '\u00a0/bin/date'],
      ['glob', `${jobs}/*.sh`],
      ['glob-2', `${jobs}/?.sh`],
    ] as const) {
      const runId = await triggerRun(db, name, 'shell', { command, cwd: dir }, { max_attempts: 3 });
      const run = await finishedRun(db, runId);
      assert.equal(run.status, 'failed', name);
      assert.equal(run.attempt, 1, name);
      assert.match(run.error!, /is not in this worker's shell allow-list; nothing was run/, name);
      assert.equal(await jobsLeft(db, runId), 0, `${name}: no retry is pending`);
    }
    assert.equal(existsSync(marker), false, 'nothing was executed');
  });

  it('runs an allowed script, and sets only the variables the env allow-list names', async () => {
    const ran = await finishedRun(
      db,
      await triggerRun(db, 'script', 'shell', { command: `${jobs}/a.sh`, env: { MODE: 'full' } }),
    );
    assert.equal(ran.status, 'succeeded', ran.error ?? '');
    assert.equal(ran.stdout, 'a\n');
    for (const env of [{ LD_PRELOAD: '/tmp/evil.so' }, { PERLLIB: dir }, { BASH_ENV: `${jobs}/b.sh` }]) {
      const run = await finishedRun(db, await triggerRun(db, 'hijack', 'shell', { command: '/bin/date', env }));
      assert.equal(run.status, 'failed');
      assert.match(run.error!, /^payload\.env: ".+" not in this worker's shell env allow-list/);
    }
    assert.equal(existsSync(marker), false, 'nothing was executed');
  });

  it('refuses, where it is written, a variable name no shell would take', async () => {
    await assert.rejects(
      db.query(`select baton.schedule('f', null, 'shell', $1)`, [
        { command: '/bin/date', env: { 'BASH_FUNC_date%%': '() { touch /tmp/x; }' } },
      ]),
      { message: /^payload\.env: "BASH_FUNC_date%%" is not a variable name/ },
    );
  });
});

describe('a worker without shell', () => {
  let db: TestDatabase;
  useBaton((env) => (db = env.db), { config: { worker: { shell: false } } }, { scheduler: false });

  it('never takes a shell run, and the catalog and schedule_status say no worker offers it', async () => {
    const shellRun = await triggerRun(db, 'shell-run', 'shell', { command: 'echo should not run' });
    const sqlRun = await triggerRun(db, 'sql-run', 'sql', { sql: 'select 1' });
    assert.equal((await finishedRun(db, sqlRun)).status, 'succeeded');
    const run = await db.one(`select status, started_at from baton.runs where id = $1`, [shellRun]);
    assert.deepEqual(run, { status: 'pending', started_at: null });
    assert.deepEqual(await db.one(`select roles, tasks from baton.cluster`), { roles: ['worker'], tasks: ['sql'] });
    const catalog = await db.query(`select name, live_workers from baton.task_catalog where builtin order by name`);
    assert.deepEqual(catalog, [
      { name: 'http', live_workers: 0 },
      { name: 'shell', live_workers: 0 },
      { name: 'sql', live_workers: 1 },
    ]);
    const status = await db.query(`select name, live_workers from baton.schedule_status order by name`);
    assert.deepEqual(status, [
      { name: 'shell-run', live_workers: 0 },
      { name: 'sql-run', live_workers: 1 },
    ]);
  });
});

describe(
  'a worker running shell commands as another OS user',
  { skip: process.getuid?.() !== 0 && 'needs root' },
  () => {
    let db: TestDatabase;
    useBaton(
      (env) => (db = env.db),
      { config: { worker: { shell: true, shellUser: 'nobody' } } },
      { scheduler: false },
    );

    it("runs them as that user, who cannot read the worker's environment", async () => {
      const run = await finishedRun(
        db,
        await triggerRun(db, 'environ', 'shell', { command: 'id -un; cat /proc/$PPID/environ', cwd: '/tmp' }),
      );
      assert.equal(run.stdout, 'nobody\n');
      assert.equal(run.status, 'failed');
      assert.match(run.stderr!, /Permission denied/);
    });
  },
);
