import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decideDue } from '../../src/planner/policies.ts';
import { Plan } from '../../src/schedules/plan.ts';
import { jitterOf, type PlanEntry } from '../../src/schedules/plan-entry.ts';
import type { MisfirePolicy } from '../../src/schedules/schedule.table.ts';
import { parseTiming, type TimingSpec } from '../../src/schedules/timing.ts';

const base = Date.parse('2026-03-01T00:00:00Z');
const grace = 1_000;

function planned(options: {
  misfire: MisfirePolicy;
  timing?: Partial<TimingSpec>;
  cursorMs?: number;
  catchupWindowMs?: number;
  jitterMs?: number;
}): PlanEntry {
  const timing = parseTiming({
    cron: null,
    everyMs: null,
    runAtMs: null,
    timezone: 'UTC',
    startsAtMs: null,
    createdAtMs: base,
    ...(options.timing ?? { cron: '* * * * * *' }),
  });
  return new Plan().set({
    id: '7',
    timing,
    error: null,
    enabled: true,
    startsAtMs: null,
    endsAtMs: null,
    misfire: options.misfire,
    catchupWindowMs: options.catchupWindowMs ?? 3_600_000,
    jitterMs: options.jitterMs ?? 0,
    cursorMs: options.cursorMs ?? base,
    storedNextMs: undefined,
    storedError: null,
  });
}

const iso = (ms: number) => new Date(ms).toISOString().slice(11, 19);

describe('decideDue', () => {
  it('fires on time whatever the policy', () => {
    for (const misfire of ['skip', 'latest', 'all'] as const) {
      const decision = decideDue(planned({ misfire }), base + 1_010, grace, 100);
      assert.deepEqual(decision, { fire: [base + 1_000], missed: [], cursorMs: base + 1_000 });
    }
  });

  it('skip: a five-minute outage is one missed row, and the fires within the grace run', () => {
    const now = base + 300_400;
    const { fire, missed, cursorMs } = decideDue(planned({ misfire: 'skip' }), now, grace, 100);
    assert.deepEqual(fire.map(iso), ['00:05:00']);
    assert.equal(missed.length, 1);
    assert.deepEqual([iso(missed[0]!.firstMs), iso(missed[0]!.lastMs)], ['00:00:01', '00:04:59']);
    assert.match(missed[0]!.reason, /misfire policy skip/);
    assert.equal(missed[0]!.count, null, 'cron gaps are not counted');
    assert.equal(cursorMs, base + 300_000);
  });

  it('latest: runs the newest late fire and records the rest as one gap', () => {
    const now = base + 300_000 + 1_500; // the fire at 00:05:00 is 1.5 s late, past the grace
    const { fire, missed } = decideDue(
      planned({ misfire: 'latest', timing: { cron: '0 * * * * *' } }),
      now,
      grace,
      100,
    );
    assert.deepEqual(fire.map(iso), ['00:05:00']);
    assert.deepEqual(
      missed.map((gap) => [iso(gap.firstMs), iso(gap.lastMs)]),
      [['00:01:00', '00:04:00']],
    );
  });

  it('latest: a fire on time wins over the late ones, which are all missed', () => {
    const { fire, missed } = decideDue(planned({ misfire: 'latest' }), base + 10_200, grace, 100);
    assert.deepEqual(fire.map(iso), ['00:00:10']);
    assert.deepEqual(
      missed.map((gap) => [iso(gap.firstMs), iso(gap.lastMs)]),
      [['00:00:01', '00:00:09']],
    );
  });

  it('latest: one late fire alone runs, with no gap', () => {
    const entry = planned({ misfire: 'latest', timing: { cron: '0 * * * * *' } });
    const { fire, missed } = decideDue(entry, base + 61_500, grace, 100);
    assert.deepEqual(fire.map(iso), ['00:01:00']);
    assert.deepEqual(missed, []);
  });

  it('all: runs every fire, oldest first, a bounded number per pass', () => {
    const entry = planned({ misfire: 'all' });
    const first = decideDue(entry, base + 300_000, grace, 100);
    assert.equal(first.fire.length, 100);
    assert.equal(first.fire[0], base + 1_000);
    assert.equal(first.cursorMs, base + 100_000);
    assert.deepEqual(first.missed, []);
  });

  it('fires older than the catch-up window are one gap under every policy', () => {
    for (const misfire of ['skip', 'latest', 'all'] as const) {
      const entry = planned({ misfire, catchupWindowMs: 60_000 });
      const { missed } = decideDue(entry, base + 3_600_000, grace, 100);
      assert.match(missed[0]!.reason, /older than the catch-up window \(60000 ms\)/);
      assert.deepEqual([iso(missed[0]!.firstMs), iso(missed[0]!.lastMs)], ['00:00:01', '00:58:59']);
    }
  });

  it('every: the gap knows how many fires it held', () => {
    const entry = planned({ misfire: 'skip', timing: { everyMs: 10_000 } });
    const { missed } = decideDue(entry, base + 600_500, grace, 100);
    assert.deepEqual(
      missed.map((gap) => [iso(gap.firstMs), iso(gap.lastMs), gap.count]),
      [['00:00:10', '00:09:50', 59]],
    );
  });

  it('jitter: each fire is judged by its own delay', () => {
    const entry = planned({ misfire: 'skip', jitterMs: 800 });
    const now = base + 5_000 + jitterOf('7', base + 5_000, 800);
    const { fire, missed } = decideDue(entry, now, grace, 100);
    for (const at of fire) assert.ok(now - at - jitterOf('7', at, 800) <= grace);
    assert.ok(fire.includes(base + 5_000));
    const covered = missed.flatMap((gap) => [gap.firstMs, gap.lastMs]);
    assert.ok(covered.every((at) => at < base + 5_000));
  });

  it('an outage of a year of every-second fires is one fire and one gap', () => {
    const entry = planned({ misfire: 'latest', catchupWindowMs: 400 * 86_400_000 });
    const { fire, missed } = decideDue(entry, base + 365 * 86_400_000 + 300, grace, 100);
    assert.equal(fire.length, 1);
    assert.equal(missed.length, 1);
  });
});
