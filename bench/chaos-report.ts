// The report of a chaos run (bench/chaos.ts): its figures, the verdict on each invariant, and the text
// (one table row per kind of schedule, totals, misses, faults).
import type { LedgerFigures, ScheduleFigures } from './chaos-ledger.ts';
import type { Cluster } from './cluster.ts';
import { ms } from './lib.ts';

export interface ChaosReport extends Omit<LedgerFigures, 'unexplained' | 'missedBySecond'> {
  schedulesExecuted: number;
  faults: string[];
  /** Seconds accounted for by more than one row, over every schedule. */
  duplicates: number;
  /** Seconds with no row at all, over every schedule. */
  missing: number;
  policyMismatches: number;
  /** Runs of executed schedules still pending or running: the first 20. */
  notTerminal: Array<Record<string, unknown>>;
  notTerminalCount: number;
  /** Examples of misses outside every fault window. */
  unexplained: string[];
  /** Seconds with a miss (the first 30): when (s since the first fault's clock started), how many, how late, the fault before. */
  missedFires: string[];
  /** The windows a miss may fall in: leaderless stretches and cut leader sessions, widened by grace and takeover. */
  faultWindows: number;
  /** How long they cover together. */
  faultWindowMs: number;
  /** Leaderless stretches no fault provoked (a leader stepping down under load, say): they explain no miss. */
  unprovokedGaps: number;
  longestUnprovokedMs: number;
  longestLeaderlessMs: number;
  crashes: string[];
  /** The nodes' warnings and errors by role and message (the ten most frequent). */
  nodeWarnings: Record<string, number>;
  insertMs: number;
  checkMs: number;
  failures: string[];
}

/** Fills report.failures: every invariant, as aggregates with a few examples. */
export async function judge(report: ChaosReport, cluster: Cluster): Promise<void> {
  const fail = (bad: boolean, what: string) => bad && report.failures.push(what);
  const worst = (pick: (s: ScheduleFigures) => number, say: (s: ScheduleFigures) => string) => {
    const bad = report.schedules.filter((s) => pick(s) > 0);
    return `${bad.length} schedule${bad.length === 1 ? '' : 's'}, e.g. ${bad.slice(0, 3).map(say).join('; ')}`;
  };
  fail(
    report.duplicates > 0,
    `${report.duplicates} seconds accounted for by more than one row: ${worst(
      (s) => s.duplicates,
      (s) => `${s.name} ${s.duplicates}`,
    )}`,
  );
  fail(
    report.missing > 0,
    `${report.missing} seconds have no row: ${worst(
      (s) => s.missing,
      (s) => `${s.name} ${s.missing} of ${s.expected}`,
    )}`,
  );
  fail(
    report.policyMismatches > 0,
    `${report.policyMismatches} seconds not as the misfire policy says: ${worst(
      (s) => s.policyMismatchCount,
      (s) => `${s.name} (misfire ${s.misfire}) ${s.policyMismatchCount}: ${s.policyMismatches.join(', ')}`,
    )}`,
  );
  fail(
    report.unexplainedMisses > 0,
    `${report.unexplainedMisses} missed seconds outside every fault window, e.g. ${report.unexplained.slice(0, 3).join('; ')}`,
  );
  fail(report.jobsPerRunOver1 > 0, `${report.jobsPerRunOver1} runs with more than one graphile-worker job`);
  fail(report.runsWithoutJob > 0, `${report.runsWithoutJob} runs to execute that never had a job`);
  fail(
    report.unexecutedWithoutJob > 0,
    `${report.unexecutedWithoutJob} pending runs no worker executes lost their job`,
  );
  fail(
    report.unexecutedNotPending > 0,
    `${report.unexecutedNotPending} runs no worker executes are neither pending nor missed`,
  );
  fail(report.badMissedRows > 0, `${report.badMissedRows} missed rows whose missed_count disagrees with their range`);
  fail(report.notTerminalCount > 0, `${report.notTerminalCount} runs not terminal`);
  for (const run of report.notTerminal.slice(0, 3)) fail(true, `run not terminal: ${await cluster.diagnose(run)}`);
  // A worker that graphile-worker left with a completion it could not record exits on purpose
  // (src/cli/runtime.ts): the leader frees its jobs and its supervisor (here, the cluster) restarts
  // it. Any other exit is a crash.
  for (const crash of report.crashes.filter((line) => !isSupervisedExit(line))) fail(true, `unexpected exit: ${crash}`);
}

/** An exit a node makes on purpose, for its supervisor to restart it. */
export function isSupervisedExit(line: string): boolean {
  return line.includes("exiting so that the leader frees this node's jobs");
}

const order = ['skip', 'latest', 'all'];

interface Group {
  names: string[];
  first: ScheduleFigures;
  sums: Record<'expected' | 'ledger' | 'rows' | 'missing' | 'duplicates' | 'missed' | 'skipped' | 'failed', number>;
  mismatches: number;
}

/** Schedules of one misfire policy, overlap policy and executed-or-not, summed. */
function groups(schedules: readonly ScheduleFigures[]): Group[] {
  const byKey = new Map<string, Group>();
  for (const s of schedules) {
    const key = `${s.misfire} ${s.overlap} ${s.executed}`;
    const group = byKey.get(key) ?? {
      names: [],
      first: s,
      sums: { expected: 0, ledger: 0, rows: 0, missing: 0, duplicates: 0, missed: 0, skipped: 0, failed: 0 },
      mismatches: 0,
    };
    group.names.push(s.name);
    for (const k of Object.keys(group.sums) as Array<keyof Group['sums']>) group.sums[k] += s[k];
    group.mismatches += s.policyMismatchCount;
    byKey.set(key, group);
  }
  const rank = (s: ScheduleFigures) => (s.executed ? 0 : 10) + (s.overlap === 'skip' ? 3 : order.indexOf(s.misfire));
  return [...byKey.values()].sort((a, b) => rank(a.first) - rank(b.first));
}

export function describeReport(r: ChaosReport): string {
  const table = groups(r.schedules).map(({ names, first: s, sums: t, mismatches }) => {
    const who = names.length === 1 ? names[0] : `${names.length} schedules`;
    const policy = mismatches === 0 ? 'yes' : `**no (${mismatches})**`;
    return `| ${who} | ${s.misfire} | ${s.overlap} | ${s.executed ? 'yes' : 'no'} | ${t.expected} | ${t.ledger} | ${t.rows} | ${t.missing} | ${t.duplicates} | ${t.missed} | ${t.skipped} | ${t.failed} | ${policy} |`;
  });
  const ledger = r.missedRanges
    ? 'a missed row covers fire_at..missed_through'
    : 'no missed_through yet: a row covers its fire_at';
  return [
    `${r.schedules.length} schedules, ${r.schedulesExecuted} executed by the workers (${ledger}); inserted in ${r.insertMs} ms, ledger checked in ${r.checkMs} ms.`,
    '',
    '| schedules | misfire | overlap | executed | seconds expected | seconds in the ledger | rows | seconds missing | seconds twice | missed | skipped (overlap) | failed | misses as the policy says |',
    '| --- | --- | --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --- |',
    ...table,
    '',
    `Seconds twice ${r.duplicates}; seconds missing ${r.missing}; runs with > 1 graphile-worker job ${r.jobsPerRunOver1}; runs never enqueued ${r.runsWithoutJob}; runs not terminal ${r.notTerminalCount}; nodes reaped ${r.reapedNodes}; exits on purpose (restarted) ${r.crashes.filter(isSupervisedExit).length}; unexpected exits ${r.crashes.filter((line) => !isSupervisedExit(line)).length}.`,
    `Not executed: runs neither pending nor missed ${r.unexecutedNotPending}; pending runs without their job ${r.unexecutedWithoutJob}. Missed rows with a wrong missed_count ${r.badMissedRows}.`,
    `Failed runs by error: ${JSON.stringify(r.failedBecause)}.`,
    `Missed seconds: ${r.missedSeconds} (${r.unexplainedMisses} outside the ${r.faultWindows} fault windows, ${ms(r.faultWindowMs / 1_000)} s in all).`,
    ...r.missedFires.map((m) => `- ${m}`),
    ...(r.unexplained.length ? ['Unexplained, e.g.:', ...r.unexplained.map((m) => `- ${m}`)] : []),
    `Node warnings and errors: ${JSON.stringify(r.nodeWarnings)}. Longest event-loop stall of the live nodes (a SIGSTOP counts), ms: ${JSON.stringify(r.loopStallMs)}.`,
    `Statuses: ${JSON.stringify(r.statuses)}. Longest gap between fire commits ${ms(r.longestCommitGapMs)} ms; longest leaderless stretch from the logs ${ms(r.longestLeaderlessMs)} ms; leaderless stretches no fault provoked ${r.unprovokedGaps} (longest ${ms(r.longestUnprovokedMs)} ms).`,
    `Faults (${r.faults.length}):`,
    ...r.faults.map((f) => `- ${f}`),
    ...(r.failures.length ? ['', 'FAILED:', ...r.failures.map((f) => `- ${f}`)] : ['', 'All invariants hold.']),
  ].join('\n');
}
