import { CronExpressionParser } from 'cron-parser';

import { instantAfterGap, instantsOf, wallOf } from './zone.ts';

/** A cron that matches nothing for this long (Feb 30, say) never fires. */
const maxSteps = 1_000;

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
  let wall = wallOf(afterMs, timezone);
  for (let step = 0; step < maxSteps; step++) {
    const matches = CronExpressionParser.parse(expression, { currentDate: new Date(wall), tz: 'UTC' });
    if (!matches.hasNext()) return null;
    const nextWall = matches.next().getTime();
    const at = instantsOf(nextWall, timezone)[0] ?? instantAfterGap(nextWall, timezone);
    // Not after `afterMs`: the second pass of a repeated hour, or a skipped time whose
    // jump instant already fired. Either way this wall time has had its fire.
    if (at > afterMs) return at;
    wall = nextWall;
  }
  return null;
}

/** Throws if cron-parser cannot evaluate the expression. */
export function checkCron(expression: string): void {
  CronExpressionParser.parse(expression, { tz: 'UTC' });
}
