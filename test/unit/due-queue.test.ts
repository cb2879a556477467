import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { DueQueue } from '../../src/schedules/due-queue.ts';
import { randomSource } from '../helpers/random-cron.ts';

describe('DueQueue', () => {
  it('pops in due order through random inserts, moves and removals, each slot once', () => {
    const random = randomSource(7);
    const queue = new DueQueue();
    // What each slot should be queued at (null: not queued); slots beyond the first growth included.
    const expected: Array<number | null> = Array.from({ length: 500 }, () => null);
    for (let step = 0; step < 20_000; step++) {
      const slot = Math.floor(random() * expected.length);
      const roll = random();
      if (roll < 0.7) expected[slot] = Math.floor(random() * 1_000);
      else expected[slot] = null;
      if (roll < 0.85) queue.set(slot, expected[slot]!);
      else queue.remove(slot);
    }
    const queued = expected.flatMap((due, slot) => (due === null ? [] : [{ slot, due }]));
    assert.equal(queue.length, queued.length);
    assert.ok(queued.every(({ slot }) => queue.has(slot)));
    const popped: number[] = [];
    for (let due = queue.peekDue(); due !== null; due = queue.peekDue()) {
      const slot = queue.pop()!;
      assert.equal(expected[slot], due);
      popped.push(due);
    }
    assert.deepEqual(
      popped,
      queued.map(({ due }) => due).sort((a, b) => a - b),
    );
    assert.ok(expected.every((_, slot) => !queue.has(slot)));
  });
});
