import { checkCron, nextCronFire } from './cron.ts';
import { wallOf } from './zone.ts';

/** When a schedule fires, parsed: pure data, no I/O. */
export type Timing =
  | { kind: 'cron'; expression: string; timezone: string }
  | { kind: 'every'; periodMs: number; anchorMs: number }
  | { kind: 'once'; atMs: number }
  | { kind: 'manual' };

/** The timing columns of a schedule row. */
export interface TimingSpec {
  cron: string | null;
  everyMs: number | null;
  runAt: Date | null;
  timezone: string;
  startsAt: Date | null;
  createdAt: Date;
}

/** Parses a schedule's timing; throws with a message naming the field when it cannot be evaluated. */
export function parseTiming(spec: TimingSpec): Timing {
  if (spec.cron !== null) {
    // Parse once now so a bad expression or zone is reported when planned, not at fire time.
    try {
      checkCron(spec.cron);
      wallOf(0, spec.timezone);
    } catch (error) {
      throw new Error(`cron: "${spec.cron}" cannot be evaluated in ${spec.timezone}: ${(error as Error).message}`);
    }
    return { kind: 'cron', expression: spec.cron, timezone: spec.timezone };
  }
  if (spec.everyMs !== null) {
    if (!(spec.everyMs >= 1000)) throw new Error(`every: ${spec.everyMs} ms must be at least 1 second`);
    return { kind: 'every', periodMs: spec.everyMs, anchorMs: (spec.startsAt ?? spec.createdAt).getTime() };
  }
  if (spec.runAt !== null) return { kind: 'once', atMs: spec.runAt.getTime() };
  return { kind: 'manual' };
}

/**
 * The first fire instant strictly after `afterMs`, or null if there is none.
 * `every` counts whole periods from its anchor, so restarts never shift its phase.
 */
export function nextFireAfter(timing: Timing, afterMs: number): number | null {
  switch (timing.kind) {
    case 'cron':
      return nextCronFire(timing.expression, timing.timezone, afterMs);
    case 'every': {
      if (afterMs < timing.anchorMs) return timing.anchorMs;
      const periods = Math.floor((afterMs - timing.anchorMs) / timing.periodMs) + 1;
      return timing.anchorMs + periods * timing.periodMs;
    }
    case 'once':
      return timing.atMs > afterMs ? timing.atMs : null;
    case 'manual':
      return null;
  }
}
