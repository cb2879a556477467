import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DueQueue, type Queued } from '../../src/schedules/due-queue.ts';
import { randomSource } from '../helpers/random-cron.ts';

interface Item extends Queued {
  name: number;
}

describe('DueQueue', () => {
  it('pops in due order through random inserts, moves and removals, each entry once', () => {
    const random = randomSource(7);
    const queue = new DueQueue<Item>();
    const items: Item[] = Array.from({ length: 500 }, (_, name) => ({ name, dueMs: null, queueIndex: -1 }));
    for (let step = 0; step < 20_000; step++) {
      const item = items[Math.floor(random() * items.length)]!;
      const roll = random();
      if (roll < 0.7) item.dueMs = Math.floor(random() * 1_000);
      else if (roll < 0.85) item.dueMs = null;
      if (roll < 0.85) queue.update(item);
      else queue.remove(item);
    }
    const queued = items.filter((item) => item.queueIndex >= 0);
    assert.equal(queue.length, queued.length);
    const popped: number[] = [];
    for (let item = queue.pop(); item; item = queue.pop()) popped.push(item.dueMs!);
    assert.deepEqual(
      popped,
      queued.map((item) => item.dueMs!).sort((a, b) => a - b),
    );
    assert.ok(items.every((item) => item.queueIndex === -1));
  });
});
