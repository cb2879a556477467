// Cron answers checked against the calendar, not only the TypeScript evaluator against the SQL one:
// the day fields' OR (Vixie cron), steps, ranges, names, macros, Sunday as 0 or 7, seconds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nextCronFire } from '../../src/schedules/cron.ts';

/** The next `count` fires strictly after `from`, in UTC, as ISO strings without milliseconds. */
function fires(expression: string, from: string, count: number): string[] {
  const found: string[] = [];
  let at = Date.parse(from);
  for (let i = 0; i < count; i++) {
    at = nextCronFire(expression, 'UTC', at)!;
    found.push(new Date(at).toISOString().replace('.000Z', 'Z'));
  }
  return found;
}

const midnights = (...days: string[]) => days.map((day) => `${day}T00:00:00Z`);

// January 2026 starts on a Thursday.
describe('cron answers', () => {
  it('both day fields restricted: either may match (the 13th or a Friday)', () => {
    assert.deepEqual(
      fires('0 0 13 * fri', '2026-01-01T00:00:00Z', 8),
      midnights(
        '2026-01-02',
        '2026-01-09',
        '2026-01-13',
        '2026-01-16',
        '2026-01-23',
        '2026-01-30',
        '2026-02-06',
        '2026-02-13',
      ),
    );
  });

  it('one day field a wildcard: the other alone decides', () => {
    assert.deepEqual(
      fires('0 0 * * fri', '2026-01-01T00:00:00Z', 3),
      midnights('2026-01-02', '2026-01-09', '2026-01-16'),
    );
    assert.deepEqual(
      fires('0 0 13 * *', '2026-01-01T00:00:00Z', 3),
      midnights('2026-01-13', '2026-02-13', '2026-03-13'),
    );
    assert.deepEqual(fires('0 0 13 * ?', '2026-01-01T00:00:00Z', 2), midnights('2026-01-13', '2026-02-13'));
  });

  it('steps over ranges and from a start', () => {
    assert.deepEqual(fires('*/15 9-17 * * *', '2026-01-01T17:40:00Z', 3), [
      '2026-01-01T17:45:00Z',
      '2026-01-02T09:00:00Z',
      '2026-01-02T09:15:00Z',
    ]);
    assert.deepEqual(fires('5-20/5 * * * *', '2026-01-01T00:00:00Z', 5), [
      '2026-01-01T00:05:00Z',
      '2026-01-01T00:10:00Z',
      '2026-01-01T00:15:00Z',
      '2026-01-01T00:20:00Z',
      '2026-01-01T01:05:00Z',
    ]);
    assert.deepEqual(fires('10/20 * * * *', '2026-01-01T00:00:00Z', 4), [
      '2026-01-01T00:10:00Z',
      '2026-01-01T00:30:00Z',
      '2026-01-01T00:50:00Z',
      '2026-01-01T01:10:00Z',
    ]);
  });

  it('names, lists, and the next year when the months run out', () => {
    assert.deepEqual(fires('0 12 * jan,feb mon', '2026-02-20T00:00:00Z', 2), [
      '2026-02-23T12:00:00Z',
      '2027-01-04T12:00:00Z',
    ]);
  });

  it('Sunday is 0 or 7', () => {
    const sundays = midnights('2026-01-04', '2026-01-11', '2026-01-18');
    assert.deepEqual(fires('0 0 * * 0', '2026-01-01T00:00:00Z', 3), sundays);
    assert.deepEqual(fires('0 0 * * 7', '2026-01-01T00:00:00Z', 3), sundays);
    assert.deepEqual(fires('0 0 * * sun', '2026-01-01T00:00:00Z', 3), sundays);
  });

  it('macros', () => {
    assert.deepEqual(fires('@daily', '2026-01-01T00:00:00Z', 2), midnights('2026-01-02', '2026-01-03'));
    assert.deepEqual(fires('@weekly', '2026-01-01T00:00:00Z', 2), midnights('2026-01-04', '2026-01-11'));
    assert.deepEqual(fires('@monthly', '2026-01-01T00:00:00Z', 2), midnights('2026-02-01', '2026-03-01'));
    assert.deepEqual(fires('@yearly', '2026-01-01T00:00:00Z', 1), midnights('2027-01-01'));
    assert.deepEqual(fires('@hourly', '2026-01-01T00:00:00Z', 1), ['2026-01-01T01:00:00Z']);
  });

  it('days that some months lack, and the leap day', () => {
    assert.deepEqual(
      fires('0 0 31 * *', '2026-01-01T00:00:00Z', 3),
      midnights('2026-01-31', '2026-03-31', '2026-05-31'),
    );
    assert.deepEqual(fires('0 0 29 2 *', '2026-01-01T00:00:00Z', 2), midnights('2028-02-29', '2032-02-29'));
  });

  it('six fields: seconds first', () => {
    assert.deepEqual(fires('30 * * * * *', '2026-01-01T00:00:00Z', 2), [
      '2026-01-01T00:00:30Z',
      '2026-01-01T00:01:30Z',
    ]);
    assert.deepEqual(fires('*/20 0 0 1 1 *', '2026-01-01T00:00:00Z', 3), [
      '2026-01-01T00:00:20Z',
      '2026-01-01T00:00:40Z',
      '2027-01-01T00:00:00Z',
    ]);
  });
});
