import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { OutputTail } from '../../src/executors/output-tail.ts';

describe('OutputTail', () => {
  it('keeps everything under the limit', () => {
    const tail = new OutputTail(100);
    tail.write('a\nb\n');
    tail.write('c');
    assert.equal(tail.toString(), 'a\nb\nc');
  });

  it('keeps the last bytes, starting at a whole line', () => {
    const tail = new OutputTail(10);
    for (let line = 1; line <= 100; line++) tail.write(`${line}\n`);
    assert.equal(tail.toString(), '98\n99\n100\n');
  });

  it('keeps a cut line when one line alone is longer than the limit', () => {
    const tail = new OutputTail(4);
    tail.write('abcdefgh');
    assert.equal(tail.toString(), 'efgh');
  });

  it('counts every byte written, kept or not', () => {
    const tail = new OutputTail(4);
    tail.write('héllo\n');
    tail.write(new Uint8Array([0x61, 0x0a]));
    assert.equal(tail.bytes, 9);
  });
});
