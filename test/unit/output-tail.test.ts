import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { OutputTail } from '../../src/executors/output-tail.ts';

describe('OutputTail', () => {
  it('keeps everything under the limit', () => {
    const tail = new OutputTail(100);
    tail.push(Buffer.from('a\nb\n'));
    tail.push(Buffer.from('c'));
    assert.equal(tail.toString(), 'a\nb\nc');
  });

  it('keeps the last bytes, starting at a whole line', () => {
    const tail = new OutputTail(10);
    for (let line = 1; line <= 100; line++) tail.push(Buffer.from(`${line}\n`));
    assert.equal(tail.toString(), '98\n99\n100\n');
  });

  it('keeps a cut line when one line alone is longer than the limit', () => {
    const tail = new OutputTail(4);
    tail.push(Buffer.from('abcdefgh'));
    assert.equal(tail.toString(), 'efgh');
  });
});
