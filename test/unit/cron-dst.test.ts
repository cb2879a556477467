// The scheduler's cron evaluation over the DST tables of test/helpers/dst-cases.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nextCronFire } from '../../src/schedules/cron.ts';
import { dstCases } from '../helpers/dst-cases.ts';

/** The next `count` fires after `from`, as ISO strings. */
function fires(expression: string, timezone: string, from: string, count: number): string[] {
  const result: string[] = [];
  let after = Date.parse(from);
  while (result.length < count) {
    const next = nextCronFire(expression, timezone, after);
    if (next === null) break;
    result.push(new Date(next).toISOString());
    after = next;
  }
  return result;
}

describe('cron across DST transitions', () => {
  for (const { zone, what, cron, from, expected } of dstCases) {
    it(`${zone}: ${what}`, () => {
      assert.deepEqual(fires(cron, zone, from, expected.length), expected);
    });
  }
});
