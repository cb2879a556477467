// `baton apply` at the size teams bring (issue 14's figures): 5,000 schedules in 50 files (JSON
// columns, YAML specs, chronoflow), each apply a whole `baton apply` process as CI runs it:
// the first apply, a no-op re-apply, one schedule changed, a --diff, a prune of 10 files. Beside
// it, the same 5,000 schedules as a psql script of put_schedule() calls in one transaction (the
// plain-SQL way), where psql is installed. Writes the `apply:<server>` section of
// docs/benchmarks.md.
//   npm run bench:apply                 # embedded Postgres
//   DATABASE_URL=postgres://... npm run bench:apply
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  cleanups,
  createDatabase,
  fig,
  migrateByCli,
  runBench,
  startEmbedded,
  stats,
  under,
  withClient,
  writeServerSection,
} from './lib.ts';

const files = 50;
const perFile = 100;
const noOpRuns = 5;

/** File i's schedules, in the format file i is written in (a third each). */
function jobFile(i: number, cronMinute = 0): [name: string, text: string] {
  const names = Array.from(
    { length: perFile },
    (_, j) => `bench-${String(i).padStart(2, '0')}-${String(j).padStart(3, '0')}`,
  );
  const cron = (j: number) => `${(j + cronMinute) % 60} ${j % 24} * * *`;
  if (i % 3 === 0) {
    const schedules = names.map((name, j) => ({
      name,
      cron: cron(j),
      task: 'sql',
      payload: { sql: 'select 1' },
      labels: { file: String(i) },
    }));
    return [`columns-${i}.json`, JSON.stringify({ schedules }, null, 2)];
  }
  if (i % 3 === 1) {
    const yaml = names.map(
      (name, j) =>
        `- name: ${name}\n  schedule: "${cron(j)}"\n  timezone: Europe/Berlin\n  task: sql\n  payload: { sql: select 2 }\n`,
    );
    return [`specs-${i}.yaml`, yaml.join('')];
  }
  const jobs = names.map((name, j) => ({
    job_id: name,
    description: `job ${j} of file ${i}`,
    schedule: cron(j),
    task: { type: 'http_request', url: `https://example.com/jobs/${j}`, method: 'POST' },
  }));
  return [`chronoflow-${i}.json`, JSON.stringify(jobs, null, 2)];
}

/** One whole `baton apply` process: wall-clock ms and its exit code. */
function applyOnce(url: string, dir: string, extra: string[] = []): { ms: number; code: number; stdout: string } {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['bin/baton.js', 'apply', dir, '--source', 'bench', '--prune', ...extra], {
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
  });
  const ms = performance.now() - started;
  if (result.status !== 0 && !(extra.includes('--diff') && result.status === 1)) {
    throw new Error(`baton apply exited ${result.status}: ${result.stderr}`);
  }
  return { ms, code: result.status!, stdout: result.stdout };
}

await runBench(async () => {
  const server = process.env.DATABASE_URL || (await startEmbedded());
  const url = await createDatabase(server, `baton_apply_${process.pid}`);
  await migrateByCli(url);
  const dir = mkdtempSync(join(tmpdir(), 'baton-bench-apply-'));
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const write = (i: number, minute?: number) => {
    const [name, text] = jobFile(i, minute);
    writeFileSync(join(dir, name), text);
    return name;
  };
  for (let i = 0; i < files; i++) write(i);
  const count = () =>
    withClient(url, async (db) => Number((await db.query(`select count(*) from baton.schedules`)).rows[0].count));

  const first = applyOnce(url, dir);
  if ((await count()) !== files * perFile) throw new Error(`first apply left ${await count()} schedules`);
  console.log(`first apply: ${first.ms.toFixed(0)} ms`);
  const noOps = Array.from({ length: noOpRuns }, () => applyOnce(url, dir).ms);
  console.log(`no-op re-apply: median ${stats(noOps).p50.toFixed(0)} ms`);
  const diff = applyOnce(url, dir, ['--diff']);
  if (diff.code !== 0) throw new Error(`--diff after an apply exited ${diff.code}`);
  write(7, 1); // every schedule of one file changes
  const oneFile = applyOnce(url, dir);
  for (let i = 40; i < files; i++) rmSync(join(dir, jobFile(i)[0]));
  const prune = applyOnce(url, dir);
  if ((await count()) !== 40 * perFile) throw new Error(`prune left ${await count()} schedules`);
  const noOpCli = (() => {
    const started = performance.now();
    spawnSync(process.execPath, ['bin/baton.js', '--version']);
    return performance.now() - started;
  })();

  // The plain-SQL way: one transaction of 5,000 put_schedule() calls through psql.
  const psql = spawnSync('psql', ['--version']).status === 0;
  let psqlMs: number | null = null;
  if (psql) {
    const sqlUrl = await createDatabase(server, `baton_apply_psql_${process.pid}`);
    await migrateByCli(sqlUrl);
    const statements = ['begin;'];
    for (let i = 0; i < files; i++) {
      for (let j = 0; j < perFile; j++) {
        const definition = { cron: `${j % 60} ${j % 24} * * *`, task: 'sql', payload: { sql: 'select 1' } };
        statements.push(`select baton.put_schedule('psql-${i}-${j}', '${JSON.stringify(definition)}');`);
      }
    }
    statements.push('commit;');
    const script = join(dir, 'schedules.sql');
    writeFileSync(script, statements.join('\n'));
    const started = performance.now();
    const result = spawnSync('psql', [sqlUrl, '-q', '-v', 'ON_ERROR_STOP=1', '-f', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    psqlMs = performance.now() - started;
    rmSync(script);
    if (result.status !== 0) throw new Error(`psql failed: ${result.stderr.toString()}`);
  }

  const whole = 'one whole `baton apply DIR --source bench --prune` process, wall time';
  const figures = [
    fig(
      'first apply: 5,000 schedules in 50 files',
      first.ms,
      ' ms',
      `${whole}; creates all (JSON columns, YAML specs, chronoflow: a third each)`,
      under(5000),
    ),
    fig(
      'no-op re-apply',
      stats(noOps).p50,
      ' ms',
      `median of ${noOpRuns}; max ${stats(noOps).max.toFixed(0)} ms; nothing written`,
      under(1000),
    ),
    fig('--diff with nothing to change', diff.ms, ' ms', `the same with --diff; a rolled-back transaction`),
    fig('one file changed (100 updates)', oneFile.ms, ' ms', whole),
    fig('10 files deleted (1,000 pruned)', prune.ms, ' ms', whole),
    fig('baton --version', noOpCli, ' ms', 'the CLI starting, for scale: part of every figure above'),
    fig(
      'psql: the same 5,000 as put_schedule() calls',
      psqlMs,
      ' ms',
      'psql -f of one transaction, 5,000 statements (the plain-SQL way)',
    ),
    fig('first apply ÷ psql', psqlMs === null ? null : first.ms / psqlMs, '×', 'the two figures above'),
  ];
  writeServerSection({ family: 'apply', title: 'baton apply', script: 'bench:apply', server, figures });
});
