// The dashboard at the size issue 15 names: 1,000 schedules and 10,000 runs, each page loaded in
// Chromium (playwright-core) from the request to the page rendered with its data, a whole node
// (`baton start --port`) serving. Writes the `dashboard:<server>` section of docs/benchmarks.md.
//   npm run bench:dashboard                  # embedded Postgres
//   DATABASE_URL=postgres://... npm run bench:dashboard
import { randomBytes } from 'node:crypto';

import { findChromium, launchBrowser } from '../test/helpers/browser.ts';
import {
  cleanups,
  createDatabase,
  fig,
  migrateByCli,
  runBench,
  spawnBaton,
  startEmbedded,
  stats,
  under,
  withClient,
  writeServerSection,
} from './lib.ts';

const schedules = 1_000;
const runs = 10_000;
const loads = 7;

await runBench(async () => {
  const chromium = findChromium();
  if (!chromium) throw new Error('no Chromium: run .ci/system-packages as root, or set CHROMIUM_PATH');
  const server = process.env.DATABASE_URL || (await startEmbedded());
  const url = await createDatabase(server, `bench_dashboard_${randomBytes(4).toString('hex')}`);
  await migrateByCli(url);
  const token = await withClient(url, async (db) => {
    await db.query(
      `insert into baton.schedules (name, cron, task, payload, labels)
       select 'dash-' || lpad(i::text, 4, '0'), '0 0 1 1 *', 'sql', '{"sql": "select 1"}', jsonb_build_object('team', 't' || (i % 5))
       from generate_series(1, $1) i`,
      [schedules],
    );
    // Ten runs a schedule, of every outcome, as if the year had been busy.
    await db.query(
      `insert into baton.runs (schedule_id, schedule_name, kind, fire_at, status, task, payload, started_at, finished_at)
       select s.id, s.name, 'scheduled', now() - make_interval(hours => k), st.status, 'sql', '{"sql": "select 1"}',
              now() - make_interval(hours => k), now() - make_interval(hours => k) + interval '2 seconds'
       from baton.schedules s
       cross join generate_series(1, $1::int / $2::int) k
       cross join lateral (select (array['succeeded', 'succeeded', 'succeeded', 'failed', 'skipped'])[1 + (s.id + k) % 5] as status) st`,
      [runs, schedules],
    );
    // A database in its steady state: statistics and visibility as autovacuum would leave them,
    // not its first pass running beside the first loads.
    await db.query(`vacuum analyze baton.schedules, baton.runs`);
    return (await db.query<{ token: string }>(`select baton.create_token('bench', 'reader') as token`)).rows[0]!.token;
  });
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  spawnBaton(url, { args: ['start', '--port', String(port), '--host', '127.0.0.1'] });
  const base = `http://127.0.0.1:${port}`;
  const browser = await launchBrowser(chromium);
  cleanups.push(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
  const page = await context.newPage();
  for (let attempt = 0; ; attempt++) {
    try {
      await page.goto(`${base}/login?token=${token}`);
      break;
    } catch (error) {
      if (attempt > 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const [{ id: runId }] = await withClient(
    url,
    async (db) => (await db.query(`select max(id) as id from baton.runs`)).rows,
  );

  // Every schedule read (the filters and counts cover them all) and the first 100 shown.
  const everySchedule = `document.getElementById('schedules-summary')?.textContent === 'Showing 100 of ${schedules.toLocaleString('en-US')} schedules.'`;
  /**
   * Milliseconds from the request to the page rendered with its data (`main[aria-busy=false]`
   * and `ready`). Untimed, it then lets the page finish (every schedule read): the next load
   * starts from a quiet page, as a person's would, not beside the work this one left going.
   */
  async function load(path: string, ready: string): Promise<number> {
    const started = performance.now();
    await page.goto(base + path);
    // One check, not two in turn: a second round trip to the page would wait behind whatever
    // it does next (on the schedules page, reading the rest).
    await page.waitForFunction(`document.querySelector('main[aria-busy="false"]') !== null && (${ready})`);
    const ms = performance.now() - started;
    if (path === '/') await page.waitForFunction(everySchedule);
    return ms;
  }
  // [name, path, ready]. The schedules page shows its first 50 rows, then reads the rest.
  const pages: Array<[string, string, string]> = [
    ['schedules: first 50 rows', '/', `document.querySelectorAll('main tbody tr').length >= 50`],
    ['schedules: all 1,000 read, 100 shown', '/', everySchedule],
    ['a schedule', '/schedules/dash-0500', `document.querySelector('h1')?.textContent?.includes('dash-0500')`],
    ['runs (first 100 of 10,000)', '/runs', `document.querySelectorAll('main tbody tr').length >= 100`],
    ['a run', `/runs/${runId}`, `document.querySelector('[role=status]') !== null`],
    ['cluster', '/cluster', `document.querySelectorAll('main tbody tr').length >= 1`],
    ['tasks', '/tasks', `document.querySelectorAll('main tbody tr, main li').length >= 1`],
  ];
  const figures = [];
  for (const [name, path, ready] of pages) {
    await load(path, ready); // warm: the browser's cache of the assets (a returning visitor), the server's plans
    const times = [];
    for (let i = 0; i < loads; i++) times.push(await load(path, ready));
    const { p50, max } = stats(times);
    console.log(`${name}: median ${p50.toFixed(0)} ms, max ${max.toFixed(0)} ms`);
    figures.push(
      fig(`${name}: load, median`, p50, ' ms', `${loads} loads after one warm-up; page.goto → data rendered`),
      fig(`${name}: load, max`, max, ' ms', 'the same', under(300)),
    );
  }
  // A first visit: the browser's cache emptied before each load (no assets, no compiled
  // script). In the same tab: a new browser context opens a new window, whose own UI (the
  // omnibox popup, a web page of Chromium's) took ~300 ms of CPU beside the load on 2 cores,
  // which a visitor's browser, long open, does not pay.
  const cold = [];
  const devtools = await context.newCDPSession(page);
  await devtools.send('Network.enable');
  for (let i = 0; i < loads; i++) {
    await devtools.send('Network.clearBrowserCache');
    cold.push(await load('/', `document.querySelectorAll('main tbody tr').length >= 50`));
  }
  const { p50: coldMedian, max: coldMax } = stats(cold);
  console.log(`first visit: median ${coldMedian.toFixed(0)} ms, max ${coldMax.toFixed(0)} ms`);
  figures.push(
    fig(
      'schedules, first visit (no cached assets): first 50 rows, median',
      coldMedian,
      ' ms',
      `${loads} loads, the browser's cache emptied before each; page.goto → rows`,
    ),
    fig('schedules, first visit: first 50 rows, max', coldMax, ' ms', 'the same', under(300)),
  );
  writeServerSection({ family: 'dashboard', title: 'Dashboard', script: 'bench:dashboard', server, figures });
});
