import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { OutputCursor } from '../../src/runs/output-cursor.ts';

describe('OutputCursor', () => {
  it('returns only what was not printed yet', () => {
    const cursor = new OutputCursor();
    assert.deepEqual(cursor.next('a\nb', 3), { skipped: 0, text: 'a\nb' });
    assert.deepEqual(cursor.next('a\nbc\n', 5), { skipped: 0, text: 'c\n' });
    assert.deepEqual(cursor.next('a\nbc\n', 5), { skipped: 0, text: '' });
  });

  it('follows a tail that dropped its head, and says how much it never saw', () => {
    const cursor = new OutputCursor();
    cursor.next('1\n2\n', 4);
    // 1\n2\n3\n4\n5\n produced, only 4\n5\n kept: 3\n was never seen.
    assert.deepEqual(cursor.next('4\n5\n', 10), { skipped: 2, text: '4\n5\n' });
    assert.deepEqual(cursor.next('5\n6\n', 12), { skipped: 0, text: '6\n' });
  });

  it('starts over when a new attempt starts its output from zero', () => {
    const cursor = new OutputCursor();
    cursor.next('first attempt\n', 14);
    assert.deepEqual(cursor.next('again\n', 6), { skipped: 0, text: 'again\n' });
  });

  it('counts bytes, not characters', () => {
    const cursor = new OutputCursor();
    cursor.next('é', 2);
    assert.deepEqual(cursor.next('éa', 3), { skipped: 0, text: 'a' });
  });
});
