// Takeover benchmark: how late the first fire after the leader goes away is, with 3 `baton scheduler`
// processes and 1 `baton worker` running an every-second cron. (a) the leader is killed with SIGKILL,
// (b) stopped with SIGTERM, 100-700 ms before a whole second; (c) frozen with SIGSTOP until another
// node takes the lock, then woken: it must notice it lost the lock and never fire again.
// Uses $DATABASE_URL's server, else an embedded one; prints a report to paste into docs/reliability.md.
import { setTimeout as sleep } from 'node:timers/promises';

import { redactUrl } from '../src/core/logger.ts';
import {
  Cluster,
  leaderMsgs,
  type LedgerRow,
  ledgerSql,
  migrateDatabase,
  misfireMismatches,
  type Node,
  type Probe,
  randomIn,
} from './cluster.ts';
import {
  cleanups,
  clockOffset,
  createDatabase,
  machine,
  ms,
  pollFor,
  runBench,
  startEmbedded,
  type Stats,
  stats,
  withClient,
} from './lib.ts';

const killTrials = 20;
const termTrials = 10;
const freezeTrials = 5;
const baselineFires = 20;
// The nodes inherit our environment, so these are the settings they run with.
const sessionTimeoutMs = Number(process.env.BATON_SESSION_TIMEOUT_MS || 2_000);
const graceMs = Number(process.env.BATON_MISFIRE_GRACE_MS || 1_000);

interface HandoverTrial {
  signalledBeforeMs: number;
  takeoverMs: number;
  latenessMs: number;
  status: string;
}

interface FreezeTrial {
  takeoverMs: number;
  lostAfterWakeMs: number;
  lostReason: string;
  fencedAttempts: number;
  windowFires: number;
  firedByFrozen: number;
  missed: string[];
  mismatches: number;
}

/** The run of `tick` at a server instant, once it is in the ledger. */
function runAt(probe: Probe, at: number, timeoutMs = 15_000): Promise<LedgerRow> {
  return pollFor(
    async () => (await probe.rows<LedgerRow>(ledgerSql(`fire_at = $1`), [new Date(at)]))?.[0],
    `the fire at ${new Date(at).toISOString()}`,
    timeoutMs,
    20,
  );
}

/** The first "acquired the leader lock" logged by a node other than `old` at or after `since` (our clock). */
function takeover(cluster: Cluster, old: Node, since: number, timeoutMs = 15_000) {
  return pollFor(
    async () =>
      cluster.nodes
        .filter((node) => node !== old)
        .flatMap((node) => node.proc.logs)
        .find((line) => line.msg === leaderMsgs.acquired && (line.time as number) >= since),
    'another node to take the lock',
    timeoutMs,
    5,
  );
}

/** (a), (b): signal the leader `before` ms ahead of a whole second (server time), measure that second's fire. */
async function handover(cluster: Cluster, signal: 'SIGKILL' | 'SIGTERM', offset: number) {
  const leader = await cluster.leader();
  const before = randomIn(110, 695); // timers wake a few ms late: stay inside 100-700
  const second = Math.ceil((Date.now() + offset + before + 50) / 1_000) * 1_000;
  await sleep(second - before - offset - Date.now());
  const at = await cluster.signal(leader, signal);
  const acquired = await takeover(cluster, leader, at);
  const run = await runAt(cluster.probe, Math.floor((at + offset) / 1_000) * 1_000 + 1_000);
  cluster.spawn('scheduler');
  await cluster.registered();
  await sleep(randomIn(300, 800));
  return {
    signalledBeforeMs: second - (at + offset),
    takeoverMs: (acquired.time as number) - at,
    latenessMs: run.enqueued - run.fire,
    status: run.status,
  } satisfies HandoverTrial;
}

/** (c): freeze the leader until another node leads, let it fire, wake the frozen one. */
async function freeze(cluster: Cluster, offset: number): Promise<FreezeTrial> {
  const leader = await cluster.leader();
  await sleep(randomIn(0, 1_000));
  const stopAt = await cluster.signal(leader, 'SIGSTOP');
  const acquired = await takeover(cluster, leader, stopAt);
  const acquiredAt = acquired.time as number;
  await sleep(1_500);
  const contAt = await cluster.signal(leader, 'SIGCONT');
  const lost = await pollFor(
    async () => leader.proc.logs.find((l) => l.msg === leaderMsgs.lost && (l.time as number) >= stopAt),
    'the woken node to log that it lost the lock',
    10_000,
    5,
  );
  await sleep(1_500);
  const rows = await withClient(
    cluster.url,
    async (c) =>
      (
        await c.query<LedgerRow>(ledgerSql(`fire_at > $1 and fire_at <= $2`), [
          new Date(stopAt + offset),
          new Date(contAt + offset),
        ])
      ).rows,
  );
  const missed = rows.filter((row) => row.status === 'missed');
  return {
    takeoverMs: acquiredAt - stopAt,
    lostAfterWakeMs: (lost.time as number) - contAt,
    lostReason: String(lost.err ?? ''),
    fencedAttempts: leader.proc.logs.filter(
      (l) => (l.time as number) >= contAt && l.msg.startsWith('lost the lead before the fires committed'),
    ).length,
    windowFires: rows.length,
    // Fires of the frozen window committed before another node held the lock could only be the frozen node's.
    firedByFrozen: rows.filter((row) => row.enqueued < acquiredAt + offset).length,
    missed: missed.map(
      (row) => `${new Date(row.fire).toISOString().slice(11, 19)} (late ${ms(row.enqueued - row.fire)} ms)`,
    ),
    mismatches: misfireMismatches(rows, 'latest', graceMs).length,
  };
}

const line = (name: string, s: Stats) => `| ${name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.max)} |`;

function report(
  kill: HandoverTrial[],
  term: HandoverTrial[],
  frozen: FreezeTrial[],
  normal: Stats,
  ledger: { seconds: number; rows: number; duplicates: number },
): string {
  const out = [
    '| measure | n | p50 ms | p95 ms | max ms |',
    '| --- | --: | --: | --: | --: |',
    line('normal fires: enqueued_at − fire_at', normal),
    line('SIGKILL: first fire after the kill, enqueued_at − fire_at', stats(kill.map((t) => t.latenessMs))),
    line('SIGKILL → another node logs "acquired the leader lock"', stats(kill.map((t) => t.takeoverMs))),
    line('SIGTERM: first fire after the signal, enqueued_at − fire_at', stats(term.map((t) => t.latenessMs))),
    line('SIGTERM → another node logs "acquired the leader lock"', stats(term.map((t) => t.takeoverMs))),
    line(
      `SIGSTOP → another node acquires (session timeout ${sessionTimeoutMs} ms)`,
      stats(frozen.map((t) => t.takeoverMs)),
    ),
    line('SIGCONT → the woken node logs "lost the leader lock"', stats(frozen.map((t) => t.lostAfterWakeMs))),
    '',
    `Signals were sent ${ms(Math.min(...[...kill, ...term].map((t) => t.signalledBeforeMs)))}–${ms(Math.max(...[...kill, ...term].map((t) => t.signalledBeforeMs)))} ms before the second; first fires after a signal not run but missed: ${[...kill, ...term].filter((t) => t.status === 'missed').length}.`,
    `Ledger of the whole run: ${ledger.rows} rows for ${ledger.seconds} seconds, ${ledger.duplicates} duplicates.`,
    '',
    '| frozen trial | SIGSTOP → takeover ms | SIGCONT → "lost" ms | why it lost | fenced fire attempts after waking | fires in the frozen window | of them committed before the takeover | missed (misfire latest, grace ' +
      `${graceMs} ms) | consistent with the policy |`,
    '| --: | --: | --: | --- | --: | --: | --: | --- | --- |',
    ...frozen.map(
      (t, i) =>
        `| ${i + 1} | ${ms(t.takeoverMs)} | ${ms(t.lostAfterWakeMs)} | ${t.lostReason} | ${t.fencedAttempts} | ${t.windowFires} | ${t.firedByFrozen} | ${t.missed.join(', ') || 'none'} | ${t.mismatches === 0 ? 'yes' : `**no (${t.mismatches})**`} |`,
    ),
  ];
  return out.join('\n');
}

async function main(): Promise<void> {
  const external = process.env.DATABASE_URL;
  const adminUrl = external ?? (await startEmbedded());
  const url = await createDatabase(adminUrl, `pgbaton_takeover_${process.pid}`);
  const offset = await withClient(url, clockOffset);
  const version = await withClient(url, async (c) => (await c.query('select version()')).rows[0].version as string);
  console.log(`server: ${external ? redactUrl(external) : 'embedded'}: ${version}; clock offset ${ms(offset)} ms`);
  await migrateDatabase(url);
  const cluster = new Cluster(url);
  cleanups.push(() => cluster.stopAll());
  for (let i = 0; i < 3; i++) cluster.spawn('scheduler');
  cluster.spawn('worker');
  await cluster.registered();
  await cluster.leader(60_000);
  await withClient(url, (c) => c.query(`select baton.schedule('tick', '* * * * * *', 'sql', '{"sql":"select 1"}')`));
  // Warm-up, then a baseline of fires with no fault near them.
  const firstAt = Math.ceil((Date.now() + offset) / 1_000) * 1_000;
  await runAt(cluster.probe, firstAt + 2_000);
  await runAt(cluster.probe, firstAt + 2_000 + baselineFires * 1_000, (baselineFires + 15) * 1_000);

  const kill: HandoverTrial[] = [];
  const term: HandoverTrial[] = [];
  const frozen: FreezeTrial[] = [];
  for (let i = 0; i < killTrials; i++) {
    kill.push(await handover(cluster, 'SIGKILL', offset));
    console.log(`SIGKILL ${i + 1}/${killTrials}: ${JSON.stringify(kill.at(-1))}`);
  }
  for (let i = 0; i < termTrials; i++) {
    term.push(await handover(cluster, 'SIGTERM', offset));
    console.log(`SIGTERM ${i + 1}/${termTrials}: ${JSON.stringify(term.at(-1))}`);
  }
  for (let i = 0; i < freezeTrials; i++) {
    frozen.push(await freeze(cluster, offset));
    console.log(`SIGSTOP ${i + 1}/${freezeTrials}: ${JSON.stringify(frozen.at(-1))}`);
  }
  await withClient(url, (c) => c.query(`select baton.pause('tick')`));
  await sleep(1_500);

  const rows = await withClient(url, async (c) => (await c.query<LedgerRow>(ledgerSql('true'))).rows);
  const seconds = Math.round((rows.at(-1)!.fire - rows[0]!.fire) / 1_000) + 1;
  const duplicates = rows.length - new Set(rows.map((row) => row.fire)).size;
  // Normal fires: those more than 3 s from any signal we sent.
  const signals = cluster.marks.filter((m) => m.kind !== 'exited').map((m) => m.at + offset);
  const normal = rows.filter((r) => r.status !== 'missed' && signals.every((at) => Math.abs(r.fire - at) > 3_000));
  const section = `- Date: ${new Date().toISOString()}
- Machine: ${machine()}
- Server: ${external ? redactUrl(external) : 'embedded'}: ${version}
- Command: \`${external ? `DATABASE_URL=${redactUrl(external)} ` : ''}npm run bench:takeover\`
- Nodes: 3 \`baton scheduler\` + 1 \`baton worker\`, heartbeat 500 ms, dead after 3 s; session timeout ${sessionTimeoutMs} ms, misfire grace ${graceMs} ms; one \`'* * * * * *'\` sql schedule
- Crashes (exits we did not cause): ${cluster.crashes.length === 0 ? 'none' : cluster.crashes.join('; ')}

${report(kill, term, frozen, stats(normal.map((r) => r.enqueued - r.fire)), { seconds, rows: rows.length, duplicates })}
`;
  console.log(`\n${section}`);
  const killMax = Math.max(...kill.map((t) => t.latenessMs));
  const failures = [
    ...(killMax > 100 ? [`SIGKILL lateness max ${ms(killMax)} ms > 100 ms`] : []),
    ...(duplicates > 0 || rows.length !== seconds ? [`ledger: ${rows.length} rows for ${seconds} seconds`] : []),
    ...(frozen.some((t) => t.firedByFrozen > 0 || t.mismatches > 0)
      ? ['a frozen trial fired from the frozen node or broke the misfire policy']
      : []),
    ...cluster.crashes,
  ];
  if (failures.length > 0) {
    console.error(`FAILED:\n${failures.join('\n')}`);
    process.exitCode = 1;
  }
}

await runBench(main);
