import { CronExpressionParser } from 'cron-parser';

import { instantAfterGap, instantsOf, wallOf } from './zone.ts';

/**
 * Matches to look through before giving up: a per-second cron crosses a whole
 * repeated or skipped hour (3,600 wall times that already had their fire) one
 * match at a time.
 */
const maxSteps = 10_000;

/**
 * The first fire of a cron expression strictly after `afterMs`, in `timezone`, with
 * explicit DST rules. Fields are matched on local wall-clock time (by cron-parser,
 * in UTC, where every wall time exists once), then mapped to an instant:
 * - a wall time that does not exist (the skipped hour of spring forward) fires once,
 *   at the instant the clocks jump (02:30 on a New York spring-forward day fires at 03:00 EDT);
 * - a wall time that happens twice (the repeated hour of fall back) fires once, at its
 *   first occurrence.
 */
export function nextCronFire(expression: string, timezone: string, afterMs: number): number | null {
  const matches = CronExpressionParser.parse(expression, {
    currentDate: new Date(wallOf(afterMs, timezone)),
    tz: 'UTC',
  });
  for (let step = 0; step < maxSteps && matches.hasNext(); step++) {
    const wall = matches.next().getTime();
    const at = instantsOf(wall, timezone)[0] ?? instantAfterGap(wall, timezone);
    // Not after `afterMs`: the second pass of a repeated hour, or a skipped time whose
    // jump already fired. Either way this wall time has had its fire.
    if (at > afterMs) return at;
  }
  return null;
}

/** Throws if cron-parser cannot evaluate the expression. */
export function checkCron(expression: string): void {
  CronExpressionParser.parse(expression, { tz: 'UTC' });
}
