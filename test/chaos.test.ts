// The chaos run of bench/chaos.ts, short: 3 `baton scheduler` and 2 `baton worker` processes,
// 4 every-second schedules, 20 s of kill -9, SIGSTOP and dropped sessions. On the suite's shared
// server there is no Postgres restart (that is `npm run chaos`, on its own server). Afterwards no
// fire is doubled, every second is in the ledger (a run, or a row saying it was missed), no run
// is left pending or running, and every invariant the full run judges holds. Dropped sessions are
// any of pgbaton's, pooled ones included.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';

import { describeReport, runChaos } from '../bench/chaos.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db.drop();
});

it('keeps each fire exactly once through kill -9, SIGSTOP and dropped sessions', { timeout: 120_000 }, async (t) => {
  const report = await runChaos({
    url: db.url,
    durationMs: 20_000,
    faultGapMs: [2_000, 4_000],
    sessions: 'all',
    settleMs: 20_000,
  });
  const context = JSON.stringify(report, null, 1);
  t.diagnostic(describeReport(report));
  assert.ok(report.faults.length >= 3, `only ${report.faults.length} faults injected`);
  assert.equal(report.duplicates, 0, `duplicate fires: ${context}`);
  assert.deepEqual(report.notTerminal, [], `runs left pending or running: ${context}`);
  assert.equal(report.schedules.length, 4);
  for (const schedule of report.schedules) {
    assert.ok(schedule.expected >= 15, `${schedule.name}: only ${schedule.expected} seconds: ${context}`);
    assert.equal(schedule.missing, 0, `${schedule.name}: seconds with no row: ${context}`);
    assert.equal(schedule.ledger, schedule.expected, `${schedule.name}: ${context}`);
  }
  assert.equal(report.schedules.find((s) => s.misfire === 'all')!.missed, 0, `misfire all missed a fire: ${context}`);
  assert.equal(report.jobsPerRunOver1, 0, `a run got two graphile-worker jobs: ${context}`);
  // Everything bench/chaos-report.ts judges, crashes included (a worker exiting on purpose for
  // its supervisor to restart is not one).
  assert.deepEqual(report.failures, [], context);
});
