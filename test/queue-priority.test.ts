// queue and priority, as graphile-worker gives them: runs in one named queue run one at a
// time, across schedules; among waiting runs a worker takes the lowest priority number first.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Baton } from '../src/index.ts';
import { useBaton } from './helpers/baton.ts';
import type { TestDatabase } from './helpers/db.ts';
import { finishedRun, runWhen } from './helpers/runs.ts';

describe('queue: one at a time across schedules', () => {
  let db: TestDatabase;
  let baton: Baton;
  const spans: Array<{ name: string; from: number; to: number }> = [];
  useBaton(
    (env) => ({ db, baton } = env),
    {
      // graphile-worker records a job's completion (which frees its queue) after its worker has
      // looked for the next job: the next run of a queue is found by polling, or by a new job.
      config: { worker: { pollIntervalMs: 100 } },
      tasks: {
        'work:step': async (payload) => {
          const from = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 150));
          spans.push({ name: String(payload.name), from, to: Date.now() });
        },
      },
    },
    { scheduler: false },
  );

  it('never overlaps two runs of one queue, while a worker with room for ten could', async () => {
    for (const name of ['a', 'b'])
      await baton.schedule(`queued-${name}`, null, 'work:step', { name }, { queue: 'reports' });
    await baton.schedule('free', null, 'work:step', { name: 'free' });
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push(await baton.trigger('queued-a'), await baton.trigger('queued-b'), await baton.trigger('free'));
    }
    for (const id of ids) assert.equal((await finishedRun(db, id)).status, 'succeeded');
    const queued = spans.filter((span) => span.name !== 'free').sort((x, y) => x.from - y.from);
    assert.equal(queued.length, 6);
    for (let i = 1; i < queued.length; i++) {
      assert.ok(queued[i]!.from >= queued[i - 1]!.to, `run ${i} started before run ${i - 1} ended`);
    }
    // The unqueued ones did overlap the queue: the worker had room, the queue held them back.
    const free = spans.filter((span) => span.name === 'free');
    assert.ok(free.some((f) => queued.some((q) => f.from < q.to && q.from < f.to)));
  });
});

describe('priority: lowest number first', () => {
  let db: TestDatabase;
  let baton: Baton;
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  useBaton(
    (env) => ({ db, baton } = env),
    {
      config: { worker: { concurrency: 1 } },
      tasks: {
        'work:gate': () => gate,
        'work:record': (payload) => Promise.resolve(void order.push(String(payload.name))),
      },
    },
    { scheduler: false },
  );

  it('takes the waiting runs by priority, not by age', async () => {
    await baton.schedule('gate', null, 'work:gate');
    const gateRun = await baton.trigger('gate');
    await runWhen(db, gateRun, 'to hold the only slot', (run) => run.status === 'running');
    for (const [name, priority] of [
      ['late', 10],
      ['soon', -10],
      ['normal', 0],
    ] as const) {
      await baton.schedule(name, null, 'work:record', { name }, { priority });
    }
    // Queued while the only slot is taken, oldest first.
    const ids = [await baton.trigger('late'), await baton.trigger('normal'), await baton.trigger('soon')];
    release();
    for (const id of ids) await finishedRun(db, id);
    assert.deepEqual(order, ['soon', 'normal', 'late']);
  });
});
