// The HTTP API under load (issue 13's figures): `baton start --port` in its own process over 10,000
// schedules; GET /api/v1/schedules pages of 100 (latency sequentially, throughput with 10 at a
// time), /metrics scrapes, and 200 server-sent-event clients while 100 runs a second change
// status. Writes the `http:<server>` section of docs/benchmarks.md.
//   npm run bench:http                  # embedded Postgres
//   DATABASE_URL=postgres://... npm run bench:http
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  createDatabase,
  fig,
  figureTable,
  hrNow,
  machine,
  migrateByCli,
  runBench,
  spawnBaton,
  startEmbedded,
  type Stats,
  stats,
  under,
  warningNotes,
  withClient,
  writeReport,
} from './lib.ts';

const schedules = 10_000;
const getSamples = 500;
const throughputRequests = 2_000;
const throughputConcurrency = 10;
const scrapes = 20;
const sseClients = 200;
const changesPerSecond = 100;
const sseSeconds = 10;

async function main(): Promise<void> {
  const external = process.env.DATABASE_URL;
  const url = await createDatabase(external ?? (await startEmbedded()), `bench_http_${randomBytes(4).toString('hex')}`);
  await migrateByCli(url);
  const token = await withClient(url, async (db) => {
    await db.query(
      `insert into baton.schedules (name, cron, task, payload, labels)
       select 'http-' || lpad(i::text, 5, '0'), (i % 60) || ' * * * *', 'sql', '{"sql": "select 1"}',
              jsonb_build_object('team', 'team-' || (i % 10))
       from generate_series(1, $1) i`,
      [schedules],
    );
    return (await db.query<{ token: string }>(`select baton.create_token('bench', 'admin') as token`)).rows[0]!.token;
  });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  // A whole node (scheduler, worker, API): the leader publishes each schedule's next fire, so
  // /metrics has its 30,000 per-schedule series, and the fires of the hour go on meanwhile.
  const server = spawnBaton(url, { args: ['start', '--port', String(port), '--host', '127.0.0.1'] });
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${token}` };
  await waitForServer(base);

  const get = await timeRequests(`${base}/api/v1/schedules?limit=100`, headers, getSamples);
  const throughput = await requestsPerSecond(`${base}/api/v1/schedules?limit=100`, headers);
  await waitForPlan(url);
  const scrape = await timeRequests(`${base}/metrics`, headers, scrapes);
  const series = (await (await fetch(`${base}/metrics`, { headers })).text())
    .split('\n')
    .filter((line) => line.startsWith('pgbaton_schedule_')).length;
  const sse = await eventDelivery(url, base, headers);

  const figures = [
    fig('GET /api/v1/schedules?limit=100, p50', get.p50, ' ms', `${getSamples} sequential requests, 10,000 schedules`),
    fig('GET /api/v1/schedules?limit=100, p99', get.p99, ' ms', 'the same', under(20)),
    fig(
      'GET of 100 schedules, requests/s',
      throughput,
      '',
      `${throughputRequests} requests, ${throughputConcurrency} at a time`,
    ),
    fig('/metrics scrape, p50', scrape.p50, ' ms', `${scrapes} sequential scrapes, 10,000 schedules`),
    fig(
      'per-schedule series in a scrape',
      series,
      '',
      'next fire of each; last fire and last success of those that fired',
    ),
    fig('/metrics scrape, max', scrape.max, ' ms', 'the same', under(250)),
    fig(
      'SSE delivery, p50',
      sse.delay.p50,
      ' ms',
      `${sseClients} clients; ${changesPerSecond} run status changes/s for ${sseSeconds} s; from before the UPDATE is sent to the event read by each client`,
    ),
    fig('SSE delivery, p99', sse.delay.p99, ' ms', 'the same', under(50)),
    fig('SSE events delivered', sse.delivered, '', `of ${sse.expected} (every change to every client)`, [
      `${sse.expected}`,
      (v) => v === sse.expected,
    ]),
    fig(
      'server max RSS',
      server.maxRssMb,
      ' MiB',
      'VmRSS of the `baton start --port` process, sampled every 500 ms over the whole run',
    ),
  ];
  const section = [
    `## HTTP API (${external ? new URL(external).host : 'embedded'})`,
    '',
    `- Machine: ${machine()}`,
    `- Command: \`${external ? 'DATABASE_URL=… ' : ''}npm run bench:http\`, ${new Date().toISOString().slice(0, 16)}Z`,
    '',
    figureTable(figures, warningNotes([server])),
  ].join('\n');
  console.log(`\n${section}`);
  console.log(`\nwrote ${writeReport(`http:${external ? new URL(external).host : 'embedded'}`, section)}`);
}

/** Until the leader has published every schedule's next fire. */
async function waitForPlan(url: string): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    const planned = await withClient(url, (db) =>
      db.query<{ n: number }>(`select count(*)::int as n from baton.schedule_state where next_fire_at is not null`),
    );
    if (planned.rows[0]!.n >= schedules) return;
    await sleep(50);
  }
  throw new Error('the leader did not publish the plan');
}

async function waitForServer(base: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(`${base}/readyz`)
        .then((r) => r.ok)
        .catch(() => false)
    )
      return;
    await sleep(50);
  }
  throw new Error(`${base} did not get ready`);
}

/** Latency of one request after another (the first few warm the server up). */
async function timeRequests(url: string, headers: Record<string, string>, samples: number): Promise<Stats> {
  const times: number[] = [];
  for (let i = -5; i < samples; i++) {
    const start = hrNow();
    const response = await fetch(url, { headers });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`${url}: ${response.status}`);
    if (i >= 0) times.push(hrNow() - start);
  }
  return stats(times);
}

async function requestsPerSecond(url: string, headers: Record<string, string>): Promise<number> {
  let left = throughputRequests;
  const start = hrNow();
  await Promise.all(
    Array.from({ length: throughputConcurrency }, async () => {
      while (left-- > 0) await (await fetch(url, { headers })).arrayBuffer();
    }),
  );
  return throughputRequests / ((hrNow() - start) / 1000);
}

/**
 * 200 clients on /api/v1/events; runs (inserted first, no jobs) change status 100 times a
 * second by plain UPDATEs; each client notes when it reads each change.
 */
async function eventDelivery(url: string, base: string, headers: Record<string, string>) {
  const total = changesPerSecond * sseSeconds;
  const sentAt = new Map<string, number>();
  const delays: number[] = [];
  let delivered = 0;
  const aborts: AbortController[] = [];
  await Promise.all(
    Array.from({ length: sseClients }, async () => {
      const abort = new AbortController();
      aborts.push(abort);
      const response = await fetch(`${base}/api/v1/events`, { headers, signal: abort.signal });
      void readEvents(response, (data) => {
        const sent = sentAt.get(`${data.id}:${data.status}`);
        if (sent === undefined) return;
        delays.push(hrNow() - sent);
        delivered++;
      });
    }),
  );
  await withClient(url, async (db) => {
    const { rows } = await db.query<{ id: string }>(
      `insert into baton.runs (schedule_name, kind, fire_at, task, payload)
       select 'sse-bench', 'adhoc', now(), 'sql', '{}' from generate_series(1, $1) returning id`,
      [total],
    );
    await sleep(500); // the inserts' notifications are not measured
    const start = hrNow();
    for (const [i, { id }] of rows.entries()) {
      const due = start + (i * 1000) / changesPerSecond;
      if (due > hrNow()) await sleep(due - hrNow());
      sentAt.set(`${id}:running`, hrNow());
      await db.query(`update baton.runs set status = 'running' where id = $1`, [id]);
    }
  });
  const deadline = hrNow() + 10_000;
  while (delivered < total * sseClients && hrNow() < deadline) await sleep(50);
  for (const abort of aborts) abort.abort();
  return { delay: stats(delays), delivered, expected: total * sseClients };
}

async function readEvents(response: Response, onRun: (data: { id: number; status: string }) => void): Promise<void> {
  let buffered = '';
  try {
    for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
      buffered += chunk;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (!block.includes('\nevent: run\n')) continue;
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (data) onRun(JSON.parse(data) as { id: number; status: string });
      }
    }
  } catch {
    // aborted at the end
  }
}

await runBench(main);
