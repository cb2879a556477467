import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { jitterOf, Plan, type PlanEntry } from '../../src/schedules/plan.ts';

const base = Date.parse('2026-01-01T00:00:00Z');
const entry = (id: string, overrides: Partial<PlanEntry> = {}): Omit<PlanEntry, 'nextMs' | 'dueMs'> => ({
  id,
  name: id,
  timing: { kind: 'every', periodMs: 1_000, anchorMs: base },
  error: null,
  enabled: true,
  startsAtMs: null,
  endsAtMs: null,
  misfire: 'latest',
  catchupWindowMs: 3_600_000,
  jitterMs: 0,
  cursorMs: base,
  ...overrides,
});

describe('Plan', () => {
  it('plans each entry from its cursor and orders by next fire', () => {
    const plan = new Plan();
    plan.set(entry('a', { cursorMs: base + 5_000 }));
    plan.set(entry('b', { cursorMs: base + 2_500 }));
    assert.equal(plan.earliest(), base + 3_000);
    assert.deepEqual(
      plan.due(base + 3_000).map((e) => e.id),
      ['b'],
    );
    assert.deepEqual(
      plan.due(base + 6_000).map((e) => e.id),
      ['b', 'a'],
    );
  });

  it('keeps an entry planned until advance() moves its cursor', () => {
    const plan = new Plan();
    plan.set(entry('a'));
    assert.deepEqual(
      plan.due(base + 1_000).map((e) => e.id),
      ['a'],
    );
    assert.deepEqual(
      plan.due(base + 1_000).map((e) => e.id),
      ['a'],
    );
    plan.advance('a', base + 1_000);
    assert.deepEqual(plan.due(base + 1_000), []);
    assert.equal(plan.earliest(), base + 2_000);
  });

  it('forgets replaced and deleted entries', () => {
    const plan = new Plan();
    plan.set(entry('a'));
    plan.set(entry('a', { cursorMs: base + 10_000 }));
    assert.equal(plan.earliest(), base + 11_000);
    plan.delete('a');
    assert.equal(plan.earliest(), null);
    assert.equal(plan.size, 0);
  });

  it('plans nothing for disabled, unparseable or finished entries', () => {
    const plan = new Plan();
    assert.equal(plan.set(entry('off', { enabled: false })).nextMs, null);
    assert.equal(plan.set(entry('bad', { timing: null, error: 'cron: nope' })).nextMs, null);
    assert.equal(plan.set(entry('ended', { endsAtMs: base + 500 })).nextMs, null);
    assert.equal(plan.earliest(), null);
  });

  it('starts no earlier than starts_at', () => {
    const plan = new Plan();
    const cron = { kind: 'cron', expression: '* * * * * *', timezone: 'UTC' } as const;
    assert.equal(plan.set(entry('later', { timing: cron, startsAtMs: base + 60_000 })).nextMs, base + 60_000);
  });
});

describe('jitter', () => {
  it('delays each fire by less than the jitter, the same on every node', () => {
    const delays = Array.from({ length: 200 }, (_, i) => jitterOf('42', base + i * 1_000, 400));
    assert.ok(delays.every((delay) => delay >= 0 && delay < 400));
    assert.ok(new Set(delays).size > 100, 'spread out');
    assert.deepEqual(
      delays,
      Array.from({ length: 200 }, (_, i) => jitterOf('42', base + i * 1_000, 400)),
    );
  });

  it('plans the fire at its instant and makes it due after its delay', () => {
    const plan = new Plan();
    const planned = plan.set(entry('j', { jitterMs: 500 }));
    assert.equal(planned.nextMs, base + 1_000);
    assert.equal(planned.dueMs, base + 1_000 + jitterOf('j', base + 1_000, 500));
    assert.equal(plan.earliest(), planned.dueMs);
  });
});
