// Next-fire math, the planner's inner loop: microseconds per call of pgbaton's compiled
// cron (bit sets per field, zone offsets cached per day) next to cron-parser asked the same
// question the way an app would (parse with the zone, then next()), and what deciding a
// due schedule costs after an outage. Pure CPU, no database; rewrites its section of
// docs/benchmarks.md.
import { CronExpressionParser } from 'cron-parser';

import { decideDue } from '../src/planner/policies.ts';
import { Plan } from '../src/schedules/plan.ts';
import { nextFireAfter, parseTiming } from '../src/schedules/timing.ts';
import { machine, runBench, writeReport } from './lib.ts';

const cases = [
  ['* * * * * *', 'UTC'],
  ['* * * * * *', 'Europe/Berlin'],
  ['*/5 * * * *', 'America/New_York'],
  ['0 9 * * 1-5', 'America/New_York'],
  ['*/15 9-17 * * *', 'Australia/Lord_Howe'],
  ['30 2 * * *', 'Asia/Kathmandu'],
] as const;

/** Microseconds per call of `step`, chained from a start instant over `calls` calls (after a warm-up). */
function microsPerCall(step: (afterMs: number) => number, calls: number): number {
  let after = Date.parse('2026-12-01T00:00:00Z');
  for (let i = 0; i < Math.min(calls, 1_000); i++) after = step(after);
  after = Date.parse('2026-12-01T00:00:00Z');
  const started = performance.now();
  for (let i = 0; i < calls; i++) after = step(after);
  return ((performance.now() - started) * 1_000) / calls;
}

function timingOf(cron: string, timezone: string) {
  return parseTiming({ cron, everyMs: null, runAtMs: null, timezone, startsAtMs: null, createdAtMs: 0 });
}

/** What deciding one due every-second schedule costs after an outage of `outageMs` (misfire latest). */
function decideMicros(outageMs: number): number {
  const now = Date.parse('2026-12-01T12:00:00.300Z');
  const entry = new Plan().set({
    id: '1',
    timing: timingOf('* * * * * *', 'UTC'),
    error: null,
    enabled: true,
    startsAtMs: null,
    endsAtMs: null,
    misfire: 'latest',
    catchupWindowMs: 86_400_000,
    jitterMs: 0,
    cursorMs: now - outageMs,
    storedNextMs: undefined,
    storedError: null,
  });
  const calls = 20_000;
  const started = performance.now();
  for (let i = 0; i < calls; i++) decideDue(entry, now, 1_000, 100);
  return ((performance.now() - started) * 1_000) / calls;
}

async function main(): Promise<void> {
  const rows = cases.map(([cron, timezone]) => {
    const timing = timingOf(cron, timezone);
    const ours = microsPerCall((after) => nextFireAfter(timing, after)!, 200_000);
    const theirs = microsPerCall(
      (after) =>
        CronExpressionParser.parse(cron, { tz: timezone, currentDate: new Date(after) })
          .next()
          .getTime(),
      2_000,
    );
    return `| \`${cron}\` | ${timezone} | ${ours.toFixed(2)} | ${theirs.toFixed(1)} | ${(theirs / ours).toFixed(0)}× |`;
  });
  const outages = [60_000, 3_600_000, 86_400_000].map(
    (outageMs) => `| ${outageMs / 60_000} min | ${decideMicros(outageMs).toFixed(2)} |`,
  );
  const section = `## Next-fire math

- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- Command: \`npm run bench:next-fire\`

Microseconds per next fire, each call starting from the previous fire (so every call moves into
time it has not seen before: the zone cache fills as it goes, as it does for a real plan).
cron-parser is asked as an app would ask it (parse with the zone, then \`next()\`), which is what
pgbaton did per call before the compiled form.

| expression | zone | pgbaton µs | cron-parser µs | ratio |
| --- | --- | --: | --: | --: |
${rows.join('\n')}

Deciding a due every-second schedule (misfire \`latest\`) after an outage: the late span is
located, not walked, so the cost does not grow with the outage.

| outage | µs per decision |
| --- | --: |
${outages.join('\n')}
`;
  console.log(section);
  console.log(`wrote ${writeReport('scale:next-fire', section)}`);
}

await runBench(main);
