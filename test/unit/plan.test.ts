import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Plan } from '../../src/schedules/plan.ts';
import { jitterOf, type PlanEntry, type Unplanned } from '../../src/schedules/plan-entry.ts';
import { parseTiming } from '../../src/schedules/timing.ts';

const base = Date.parse('2026-01-01T00:00:00Z');
const entry = (id: string, overrides: Partial<PlanEntry> = {}): Unplanned => ({
  id,
  timing: { kind: 'every', periodMs: 1_000, anchorMs: base },
  error: null,
  enabled: true,
  startsAtMs: null,
  endsAtMs: null,
  misfire: 'latest',
  catchupWindowMs: 3_600_000,
  jitterMs: 0,
  cursorMs: base,
  storedNextMs: undefined,
  storedError: null,
  ...overrides,
});
const ids = (entries: PlanEntry[]) => entries.map((e) => e.id);

describe('Plan', () => {
  it('plans each entry from its cursor and orders by next fire', () => {
    const plan = new Plan();
    plan.set(entry('a', { cursorMs: base + 5_000 }));
    plan.set(entry('b', { cursorMs: base + 2_500 }));
    assert.equal(plan.earliest(), base + 3_000);
    assert.deepEqual(ids(plan.takeDue(base + 3_000, 10)), ['b']);
    plan.restore(['b']);
    assert.deepEqual(ids(plan.takeDue(base + 6_000, 10)), ['b', 'a']);
  });

  it('takes at most the limit, earliest first, and the rest stay due', () => {
    const plan = new Plan();
    for (const [id, cursor] of [
      ['a', 3],
      ['b', 1],
      ['c', 2],
    ] as const)
      plan.set(entry(id, { cursorMs: base + cursor * 1_000 }));
    assert.deepEqual(ids(plan.takeDue(base + 10_000, 2)), ['b', 'c']);
    assert.deepEqual(ids(plan.takeDue(base + 10_000, 2)), ['a']);
    assert.deepEqual(plan.takeDue(base + 10_000, 2), []);
  });

  it('a taken entry is out of the queue until advance() or restore() puts it back', () => {
    const plan = new Plan();
    plan.set(entry('a'));
    assert.deepEqual(ids(plan.takeDue(base + 1_000, 10)), ['a']);
    assert.equal(plan.earliest(), null);
    plan.restore(['a']);
    assert.deepEqual(ids(plan.takeDue(base + 1_000, 10)), ['a']);
    plan.advance('a', base + 1_000);
    assert.deepEqual(plan.takeDue(base + 1_000, 10), []);
    assert.equal(plan.earliest(), base + 2_000);
  });

  it('a taken entry replaced by set() stays out of the queue until its fire settles', () => {
    const plan = new Plan();
    plan.set(entry('a'));
    assert.deepEqual(ids(plan.takeDue(base + 1_000, 10)), ['a']);
    plan.set(entry('a', { timing: { kind: 'every', periodMs: 500, anchorMs: base } })); // a reload meanwhile
    assert.equal(plan.earliest(), null, 'a second fire statement must not take it');
    assert.deepEqual(ids(plan.takeDueOf(['a'], base + 1_000)), []);
    plan.advance('a', base + 1_000);
    assert.equal(plan.earliest(), base + 1_500, 'back, as the reload planned it');
    assert.deepEqual(ids(plan.takeDueOf(['a'], base + 1_500)), ['a']);
    plan.delete('a');
    plan.set(entry('b'));
    assert.equal(plan.earliest(), base + 1_000, 'a reused slot starts untaken');
  });

  it('keeps a jittered entry planned when it is taken and restored (the fire waits for its delay)', () => {
    const plan = new Plan();
    const planned = plan.set(entry('j', { jitterMs: 10_000 }));
    assert.deepEqual(plan.takeDue(planned.nextMs!, 10), [], 'not due before its delay');
    assert.equal(plan.earliest(), planned.dueMs);
    assert.deepEqual(ids(plan.takeDue(planned.dueMs!, 10)), ['j']);
    plan.restore(['j']);
    assert.equal(plan.earliest(), planned.dueMs);
  });

  it('holds one live queue item per entry however often it is replanned', () => {
    const plan = new Plan();
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 100; i++) plan.set(entry(`e${i}`, { cursorMs: base + ((round * 7 + i) % 13) * 1_000 }));
    }
    const taken = plan.takeDue(base + 60_000, 1_000);
    assert.equal(taken.length, 100);
    assert.equal(new Set(ids(taken)).size, 100);
    assert.equal(plan.earliest(), null);
  });

  it('a load drops the entries it did not see', () => {
    const plan = new Plan();
    plan.set(entry('kept'));
    plan.set(entry('gone'));
    plan.beginLoad();
    plan.set(entry('kept'));
    assert.ok(plan.loadedNow('kept'));
    assert.ok(!plan.loadedNow('gone'));
    assert.equal(plan.dropUnloaded(), 1);
    assert.equal(plan.size, 1);
    assert.equal(plan.errorOf('kept'), null);
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
    const cron = parseTiming({
      cron: '* * * * * *',
      everyMs: null,
      runAtMs: null,
      timezone: 'UTC',
      startsAtMs: null,
      createdAtMs: base,
    });
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
