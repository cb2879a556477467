// `baton run`, `baton logs`, `baton cancel`, `baton tasks`, `baton runs`: ad-hoc runs
// from a terminal, against a real worker, with the command's exit code as baton's.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { useBaton } from './helpers/baton.ts';
import { runBaton, spawnBaton } from './helpers/baton-process.ts';
import type { TestDatabase } from './helpers/db.ts';
import { finishedRun, runWhen } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

describe('baton run', () => {
  let db: TestDatabase;
  useBaton((env) => (db = env.db), { config: { worker: { shell: true, outputFlushMs: 50 } } }, { scheduler: false });
  const baton = (args: string[]) => runBaton(args, { DATABASE_URL: db.url });

  it("prints both streams and exits with the command's exit code", async () => {
    const { code, stdout, stderr } = await baton(['run', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.equal(code, 3);
    assert.equal(stdout, 'out\n');
    assert.match(stderr, /^err\nbaton: run (\d+) failed: exit code 3\n$/);
    const runId = /run (\d+)/.exec(stderr)![1]!;
    const run = await db.one(`select kind, schedule_name, schedule_id, task, payload from baton.runs where id = $1`, [
      runId,
    ]);
    assert.deepEqual(run, {
      kind: 'adhoc',
      schedule_name: 'adhoc',
      schedule_id: null,
      task: 'shell',
      payload: { command: ['sh', '-c', 'echo out; echo err >&2; exit 3'] },
    });
  });

  it('runs one argument through /bin/sh -c, under the name given, and exits 0 on success', async () => {
    const { code, stdout, stderr } = await baton(['run', '--name', 'sum', '--env', 'A=1', '--', 'echo $((A + 2))']);
    assert.equal(code, 0, stderr);
    assert.equal(stdout, '3\n');
    assert.equal(stderr, '');
    assert.equal((await db.one(`select schedule_name from baton.runs order by id desc limit 1`)).schedule_name, 'sum');
  });

  it('exits 124 when the run times out, as timeout(1) does', async () => {
    const { code, stderr } = await baton(['run', '--timeout', '1s', '--', 'sleep 30']);
    assert.equal(code, 124);
    assert.match(stderr, /baton: run \d+ timed out: timed out after 1000 ms/);
  });

  it('exits 128 + N when a signal killed the command', async () => {
    const { code } = await baton(['run', '--', 'kill -USR1 $$']);
    assert.equal(code, 128 + 10);
  });

  it('SIGKILLs, after the kill grace, a command that ignores SIGTERM at its timeout', async () => {
    const pidFile = join(mkdtempSync(join(tmpdir(), 'baton-run-')), 'pid');
    const started = Date.now();
    // sleep inherits the ignored SIGTERM: only SIGKILL ends the group.
    const { code, stderr } = await baton([
      'run',
      '--timeout',
      '1s',
      '--',
      `trap '' TERM; echo $$ > ${pidFile}; sleep 30`,
    ]);
    assert.equal(code, 124, stderr);
    assert.ok(Date.now() - started < 10_000, 'long before the sleep would have ended');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' });
    const run = await db.one(
      `select status, extract(epoch from finished_at - started_at) * 1000 as ms from baton.runs order by id desc limit 1`,
    );
    assert.equal(run.status, 'timed_out');
    // The timeout (1 s), then the kill grace (200 ms here) before SIGKILL.
    assert.ok(run.ms >= 1_200 && run.ms < 5_000, `${run.ms} ms`);
  });

  it('exits 125 and names the field when baton itself refuses the run', async () => {
    const { code, stderr } = await baton(['run', '--timeout', 'soon', '--', 'date']);
    assert.equal(code, 125);
    assert.match(stderr, /^baton: timeout: "soon" is not valid/);
    assert.deepEqual(await baton(['run', '--max-attempts', 'many', '--', 'date']), {
      code: 125,
      stdout: '',
      stderr: 'baton: --max-attempts: "many" is not a whole number\n',
    });
  });

  it('streams output as it comes; logs and cancel work on it from another terminal', async () => {
    const follower = spawnBaton(['run', '--name', 'long', '--', 'echo tick; sleep 30'], { DATABASE_URL: db.url });
    await waitFor('the first output line to be printed', () => follower.output.includes('tick'));
    const { id } = await db.one(`select id from baton.runs where schedule_name = 'long'`);

    const logs = await baton(['logs', id]);
    assert.deepEqual(logs, { code: 0, stdout: 'tick\n', stderr: '' });

    const cancel = await baton(['cancel', id]);
    assert.equal(cancel.code, 0, cancel.stderr);
    // The worker may record the cancel before the command reads the run back.
    assert.match(cancel.stdout, new RegExp(`^run ${id}(: cancel sent to its worker| cancelled)\n$`));
    assert.equal(await follower.stop('SIGCONT'), 130);
    assert.ok(follower.output.some((line) => line.startsWith(`baton: run ${id} cancelled: cancelled by `)));
    assert.equal((await finishedRun(db, id)).status, 'cancelled');

    assert.deepEqual(await baton(['cancel', id]), { code: 0, stdout: `run ${id} cancelled\n`, stderr: '' });
  });

  it('cancels the run on Ctrl-C and exits 130', async () => {
    const follower = spawnBaton(['run', '--name', 'interrupted', '--', 'echo ready; sleep 30'], {
      DATABASE_URL: db.url,
    });
    await waitFor('the command to start', () => follower.output.includes('ready'));
    assert.equal(await follower.stop('SIGINT'), 130);
    const { id } = await db.one(`select id from baton.runs where schedule_name = 'interrupted'`);
    assert.equal((await finishedRun(db, id)).status, 'cancelled');
  });

  it('--detach prints the run id; logs --follow prints the output until the run ends', async () => {
    const detached = await baton(['run', '--detach', '--', 'echo one; sleep 0.3; echo two']);
    assert.equal(detached.code, 0, detached.stderr);
    const id = detached.stdout.trim();
    assert.match(id, /^\d+$/);
    const followed = await baton(['logs', '--follow', id]);
    assert.deepEqual(followed, { code: 0, stdout: 'one\ntwo\n', stderr: '' });
    await runWhen(db, id, 'to have succeeded', (run) => run.status === 'succeeded');
    const cancel = await baton(['cancel', id]);
    assert.deepEqual(cancel, {
      code: 1,
      stdout: `run ${id} had already finished (succeeded); nothing to cancel\n`,
      stderr: '',
    });
  });

  it('lists the catalog and the runs, for people and as JSON', async () => {
    const tasks = await baton(['tasks', '--json']);
    assert.equal(tasks.code, 0, tasks.stderr);
    const shell = (JSON.parse(tasks.stdout) as Array<{ name: string; liveWorkers: number }>).find(
      (t) => t.name === 'shell',
    );
    assert.equal(shell?.liveWorkers, 1);
    assert.match(
      (await baton(['tasks'])).stdout,
      /^TASK +OFFERED BY +DESCRIPTION\n(.*\n)*shell +\S+:\d+ +runs a command/m,
    );

    const runs = await baton(['runs', '--schedule', 'sum', '--json']);
    assert.deepEqual(
      (JSON.parse(runs.stdout) as Array<{ status: string; kind: string }>).map(({ status, kind }) => ({
        status,
        kind,
      })),
      [{ status: 'succeeded', kind: 'adhoc' }],
    );
    assert.match(
      (await baton(['runs', '--limit', '1'])).stdout,
      /^RUN +STATUS +NAME +TASK +FIRE AT +TOOK +ERROR\n\d+ +succeeded /,
    );
  });
});

describe('baton run without a shell worker', () => {
  let db: TestDatabase;
  useBaton((env) => (db = env.db), { config: { worker: { shell: false } } }, { scheduler: false });

  it('says the run waits for a worker that offers shell', async () => {
    const { code, stdout, stderr } = await runBaton(['run', '--detach', '--', 'date'], { DATABASE_URL: db.url });
    assert.equal(code, 0);
    assert.match(
      stderr,
      /run \d+ waits: no live worker offers the shell task \(start one with `baton worker --shell`\)/,
    );
    assert.equal((await db.one(`select status from baton.runs where id = $1`, [stdout.trim()])).status, 'pending');
  });
});
