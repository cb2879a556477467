import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { nextFireAfter, parseTiming, type TimingSpec } from '../../src/schedules/timing.ts';

const spec = (overrides: Partial<TimingSpec>): TimingSpec => ({
  cron: null,
  everyMs: null,
  runAtMs: null,
  timezone: 'UTC',
  startsAtMs: null,
  createdAtMs: Date.parse('2026-01-01T00:00:00.000Z'),
  ...overrides,
});
const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

describe('nextFireAfter', () => {
  it('cron: strictly after the given instant, seconds field first when there are 6', () => {
    const timing = parseTiming(spec({ cron: '*/5 * * * * *' }));
    assert.equal(iso(nextFireAfter(timing, at('2026-01-01T10:00:04.999Z'))), '2026-01-01T10:00:05.000Z');
    assert.equal(iso(nextFireAfter(timing, at('2026-01-01T10:00:05.000Z'))), '2026-01-01T10:00:10.000Z');
  });

  it('cron: evaluated in the schedule time zone', () => {
    const timing = parseTiming(spec({ cron: '0 3 * * *', timezone: 'Europe/Berlin' }));
    assert.equal(iso(nextFireAfter(timing, at('2026-07-01T00:00:00Z'))), '2026-07-01T01:00:00.000Z');
    assert.equal(iso(nextFireAfter(timing, at('2026-12-01T00:00:00Z'))), '2026-12-01T02:00:00.000Z');
  });

  it('cron: macros', () => {
    assert.equal(
      iso(nextFireAfter(parseTiming(spec({ cron: '@hourly' })), at('2026-01-01T10:20:00Z'))),
      '2026-01-01T11:00:00.000Z',
    );
    assert.equal(
      iso(nextFireAfter(parseTiming(spec({ cron: '@yearly' })), at('2026-03-01T00:00:00Z'))),
      '2027-01-01T00:00:00.000Z',
    );
  });

  it('every: whole periods from the anchor, so the phase survives restarts', () => {
    const timing = parseTiming(spec({ everyMs: 30_000, createdAtMs: Date.parse('2026-01-01T00:00:07.000Z') }));
    assert.equal(iso(nextFireAfter(timing, at('2026-01-01T00:00:07.000Z'))), '2026-01-01T00:00:37.000Z');
    assert.equal(iso(nextFireAfter(timing, at('2026-01-01T05:00:00.000Z'))), '2026-01-01T05:00:07.000Z');
    assert.equal(iso(nextFireAfter(timing, at('2026-01-01T05:00:07.000Z'))), '2026-01-01T05:00:37.000Z');
  });

  it('every: anchored at starts_at when given, which is itself a fire', () => {
    const timing = parseTiming(spec({ everyMs: 60_000, startsAtMs: Date.parse('2026-02-01T00:00:00Z') }));
    assert.equal(iso(nextFireAfter(timing, at('2026-01-15T00:00:00Z'))), '2026-02-01T00:00:00.000Z');
  });

  it('run_at: once, then never', () => {
    const timing = parseTiming(spec({ runAtMs: Date.parse('2026-01-02T00:00:00Z') }));
    assert.equal(iso(nextFireAfter(timing, at('2026-01-01T00:00:00Z'))), '2026-01-02T00:00:00.000Z');
    assert.equal(nextFireAfter(timing, at('2026-01-02T00:00:00Z')), null);
  });

  it('manual: never', () => {
    assert.equal(nextFireAfter(parseTiming(spec({})), at('2026-01-01T00:00:00Z')), null);
  });

  it('an expression the cron library cannot evaluate is an error naming the field', () => {
    assert.throws(
      () => parseTiming(spec({ cron: '99 * * * *' })),
      /^Error: cron: "99 \* \* \* \*" cannot be evaluated in UTC/,
    );
  });
});
