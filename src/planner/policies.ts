import type { MisfirePolicy } from '../schedules/schedule.table.ts';

export interface MisfireDecision {
  /** Instants to enqueue, oldest first. */
  fire: number[];
  /** Instants to record as `missed`. */
  missed: number[];
}

/**
 * Splits due instants (oldest first) into fires and misses. An instant at most
 * `graceMs` behind the time it was due (`lateBy`) is on time and always fires; the
 * late ones follow the policy. `more` says further late instants follow this batch,
 * so none of this batch is the latest.
 */
export function decideMisfires(
  policy: MisfirePolicy,
  instants: readonly number[],
  lateBy: (at: number) => number,
  graceMs: number,
  more = false,
): MisfireDecision {
  const late = instants.filter((at) => lateBy(at) > graceMs);
  const onTime = instants.filter((at) => lateBy(at) <= graceMs);
  switch (policy) {
    case 'all':
      return { fire: [...instants], missed: [] };
    case 'skip':
      return { fire: onTime, missed: late };
    case 'latest':
      if (late.length === 0 || onTime.length > 0 || more) return { fire: onTime, missed: late };
      return { fire: late.slice(-1), missed: late.slice(0, -1) };
  }
}
