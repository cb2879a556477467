// The dashboard in a real browser (Chromium, driven by playwright-core) against a real
// `baton start --port 0`: sign in, see what psql made (and what it makes, live), run and
// watch a run's output, edit and read the database's refusal beside the field, a reader with
// no actions, and axe-core on every page at 375 px and on a wide screen.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';

import type { Browser, Page } from 'playwright-core';

import { type BatonProcess, spawnBaton } from './helpers/baton-process.ts';
import { axeViolations, findChromium, launchBrowser } from './helpers/browser.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

const chromiumPath = findChromium();
// Where to write a screenshot of each page (npm run screenshots): docs/dashboard/.
const screenshots = process.env.BATON_SCREENSHOTS;

describe(
  'the dashboard',
  { skip: !chromiumPath && 'no Chromium here: run .ci/system-packages as root, or set CHROMIUM_PATH' },
  () => {
    let db: TestDatabase;
    let node: BatonProcess;
    let browser: Browser;
    let base: string;
    let admin: string;
    let reader: string;

    before(async () => {
      db = await createTestDatabase();
      node = spawnBaton(['start', '--port', '0', '--host', '127.0.0.1', '--shell', '--database-url', db.url]);
      base = (await node.waitForLog('the API to listen', (line) => line.msg === 'http listening')).url as string;
      admin = (await db.one<{ token: string }>(`select baton.create_token('ui-admin', 'admin') as token`)).token;
      reader = (await db.one<{ token: string }>(`select baton.create_token('ui-reader', 'reader') as token`)).token;
      await db.query(
        `select baton.schedule('nightly-report', '30 2 * * *', 'shell', '{"command": "echo report"}', '{"timezone": "Europe/Berlin"}')`,
      );
      browser = await launchBrowser(chromiumPath!);
    });
    after(async () => {
      await browser?.close();
      await node?.stop();
      await db?.drop();
    });

    /** A page signed in through the link `baton dev` prints. */
    async function signedIn(token: string, width = 1280): Promise<Page> {
      const context = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
      const page = await context.newPage();
      await page.goto(`${base}/login?token=${token}`);
      await page.getByRole('link', { name: 'Runs', exact: true }).waitFor();
      return page;
    }

    it('signs in with the form, refusing an unknown token beside the field', async () => {
      const page = await (await browser.newContext()).newPage();
      await page.goto(base);
      await page.getByLabel('Token').fill('baton_not-a-token');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('alert').filter({ hasText: 'not known' }).waitFor();
      await page.getByLabel('Token').fill(admin);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('link', { name: 'nightly-report' }).waitFor();
      await page.context().close();
    });

    it('shows a schedule made in psql, and one inserted in psql appears within a second', async (t) => {
      const page = await signedIn(admin);
      await page.getByRole('link', { name: 'nightly-report' }).waitFor();
      const row = page.getByRole('row').filter({ hasText: 'nightly-report' });
      await row.getByText('30 2 * * *').waitFor();
      const committed = Date.now();
      await db.query(
        `insert into baton.schedules (name, every, task, payload) values ('from-psql', '1 hour', 'sql', '{"sql": "select 1"}')`,
      );
      await page.getByRole('link', { name: 'from-psql' }).waitFor({ timeout: 5_000 });
      const ms = Date.now() - committed;
      t.diagnostic(`psql insert → row on the open page: ${ms} ms`);
      assert.ok(ms < 1_000, `${ms} ms`);
      await page.context().close();
    });

    it('asks once for the first data of the schedules page, fetched with the page, and not who is signed in', async () => {
      const page = await signedIn(admin);
      const asked: string[] = [];
      page.on('request', (request) => {
        const { pathname, search } = new URL(request.url());
        if (pathname.startsWith('/api/')) asked.push(pathname + search);
      });
      await page.goto(`${base}/`);
      await page.getByText(/^Showing \d+ of \d+ schedules\.$/).waitFor();
      await page.locator('main[aria-busy="false"]').waitFor();
      const data = asked.filter((path) => path !== '/api/v1/events');
      assert.deepEqual(data, ['/api/v1/schedules?limit=50']); // fewer schedules than that: no second page
      await page.context().close();
    });

    it('shows the first 100 schedules that match, more on request, and filters all of them by name', async () => {
      await db.query(
        `insert into baton.schedules (name, task, payload)
         select 'bulk-' || lpad(i::text, 3, '0'), 'sql', '{"sql": "select 1"}' from generate_series(0, 149) i`,
      );
      try {
        const { all } = await db.one<{ all: number }>(`select count(*)::int as all from baton.schedules`);
        const page = await signedIn(admin);
        const shown = page.locator('main tbody tr:not([hidden])');
        await page.getByText(`Showing 100 of ${all} schedules.`).waitFor();
        assert.equal(await shown.count(), 100);
        // One made in psql now sorts past the first 100, and shows all the same.
        await db.query(
          `insert into baton.schedules (name, task, payload) values ('zz-live', 'sql', '{"sql": "select 1"}')`,
        );
        await page.getByRole('link', { name: 'zz-live' }).waitFor({ timeout: 1_000 });
        await page.getByText(`Showing 101 of ${all + 1} schedules.`).waitFor();
        await db.query(`delete from baton.schedules where name = 'zz-live'`);
        await page.getByText(`Showing 100 of ${all} schedules.`).waitFor();
        await page.getByRole('button', { name: `Show ${Math.min(100, all - 100)} more` }).click();
        await page.getByText(`Showing ${Math.min(200, all)} of ${all} schedules.`).waitFor();
        assert.equal(await shown.count(), Math.min(200, all));
        await page.getByLabel('Name').fill('BULK-14');
        await page.getByText(`Showing 10 of 10 matching (${all} in all) schedules.`).waitFor();
        assert.deepEqual(
          await shown.locator('th a').allTextContents(),
          Array.from({ length: 10 }, (_, i) => `bulk-14${i}`),
        );
        assert.equal(await page.getByRole('button', { name: /^Show \d+ more$/ }).isHidden(), true);
        assert.match(page.url(), /\?name=BULK-14$/);
        // The runs page's button alike, with fewer runs than a page: hidden, though it is styled.
        await page.goto(`${base}/runs`);
        await page.locator('main[aria-busy="false"]').waitFor();
        assert.equal(await page.getByRole('button', { name: 'Load more' }).isHidden(), true);
        await page.context().close();
      } finally {
        await db.query(`delete from baton.schedules where name like 'bulk-%' or name = 'zz-live'`);
      }
    });

    it('triggers a run and shows its output grow until it succeeds', async () => {
      await db.query(
        `select baton.schedule('counting', null, 'shell', '{"command": "for i in 1 2 3 4 5 6; do echo line-$i; sleep 0.4; done"}')`,
      );
      const page = await signedIn(admin);
      await page.goto(`${base}/schedules/counting`);
      await page.getByRole('button', { name: 'Trigger now' }).click();
      await page.waitForURL(/\/runs\/\d+$/);
      const stdout = page.getByLabel('stdout');
      // Part of the output while the run still goes on, then all of it and the outcome.
      await waitFor('output while running', async () => {
        const [text, status] = await Promise.all([stdout.textContent(), page.getByRole('status').textContent()]);
        return text?.includes('line-1') && !text.includes('line-6') && /running/.test(status ?? '');
      });
      await page.getByRole('status').filter({ hasText: 'succeeded' }).waitFor({ timeout: 10_000 });
      assert.match((await stdout.textContent()) ?? '', /line-1[\s\S]*line-6/);
      await page.context().close();
    });

    it("edits with a bad cron and shows the database's message beside the field", async () => {
      const page = await signedIn(admin);
      await page.goto(`${base}/schedules/nightly-report`);
      await page.getByRole('button', { name: 'Edit' }).click();
      await page.getByLabel('Cron').fill('30 25 * * *');
      await page.getByRole('button', { name: 'Save' }).click();
      const message = page.locator('#error-cron');
      await message.waitFor();
      assert.match((await message.textContent()) ?? '', /hour field/);
      assert.equal(await page.getByLabel('Cron').getAttribute('aria-invalid'), 'true');
      const { cron } = await db.one(`select cron from baton.schedules where name = 'nightly-report'`);
      assert.equal(cron, '30 2 * * *');
      await page.context().close();
    });

    it('gives a reader every page and no action; the server refuses a change forced with the cookie', async () => {
      const page = await signedIn(reader);
      await page.goto(`${base}/schedules/nightly-report`);
      await page.getByRole('heading', { name: 'nightly-report' }).waitFor();
      for (const name of ['Pause', 'Resume', 'Trigger now', 'Edit', 'Delete']) {
        assert.equal(await page.getByRole('button', { name }).count(), 0, name);
      }
      await page.goto(base);
      await page.getByRole('link', { name: 'nightly-report' }).waitFor();
      assert.equal(await page.getByRole('link', { name: 'New schedule' }).count(), 0);
      const csrf = (await page.context().cookies()).find((c) => c.name === 'baton_csrf')!.value;
      const forced = await page.evaluate(
        async ([token]) =>
          (
            await fetch('/api/v1/schedules/nightly-report/pause', {
              method: 'POST',
              headers: { 'x-baton-csrf': token! },
            })
          ).status,
        [csrf],
      );
      assert.equal(forced, 403);
      await page.context().close();
    });

    it('refuses a change made with the session cookie but without the CSRF header', async () => {
      const page = await signedIn(admin);
      const status = await page.evaluate(
        async () => (await fetch('/api/v1/schedules/nightly-report/pause', { method: 'POST' })).status,
      );
      assert.equal(status, 403);
      const { enabled } = await db.one(`select enabled from baton.schedules where name = 'nightly-report'`);
      assert.equal(enabled, true);
      await page.context().close();
    });

    it('sends pages under a CSP, and assets under a path named after their content, cacheable for good', async () => {
      const page = await fetch(`${base}/runs`);
      assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
      assert.equal(page.headers.get('referrer-policy'), 'no-referrer');
      const [, app] = /src="(\/assets\/[0-9a-f]{12}\/app\.js)"/.exec(await page.text()) ?? [];
      assert.ok(app);
      const asset = await fetch(base + app);
      assert.equal(asset.status, 200);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      const encoded = async (encoding: string) => {
        const answer = await fetch(base + app, { headers: { 'accept-encoding': encoding } });
        return [answer.headers.get('content-encoding'), await answer.text()];
      };
      const [none, plain] = await encoded('identity');
      assert.equal(none, null);
      assert.deepEqual(await encoded('gzip, deflate, br'), ['br', plain]);
      assert.deepEqual(await encoded('gzip, deflate'), ['gzip', plain]);
      assert.deepEqual(await encoded('br;q=0, gzip;q=0.5'), ['gzip', plain]);
      assert.deepEqual(await encoded('BR;Q=0, GZIP;q=0'), [null, plain]);
      assert.equal((await fetch(base + app.replace('app.js', 'nothing.js'))).status, 404);
    });

    it('says in the page who is signed in, only for a known session cookie', async () => {
      const { token: named } = await db.one<{ token: string }>(
        `select baton.create_token('ops/night-shift', 'reader') as token`,
      );
      const body = async (cookie?: string) =>
        /<body[^>]*>/.exec(await (await fetch(`${base}/`, { headers: cookie ? { cookie } : {} })).text())?.[0];
      assert.equal(await body(), '<body>');
      assert.equal(await body('baton_session=not-a-token'), '<body>');
      assert.equal(await body(`baton_session=${named}`), '<body data-token="ops/night-shift" data-role="reader">');
      const page = await fetch(`${base}/`, { headers: { cookie: `baton_session=${named}` } });
      assert.equal(page.headers.get('cache-control'), 'no-store');
      // With the schedules page, the data it asks for first (and only for a visitor signed in).
      const preloads = (html: string) =>
        [...html.matchAll(/<link rel="preload" href="([^"]+)" as="fetch"/g)].map(([, path]) => path);
      assert.deepEqual(preloads(await page.text()), ['/api/v1/schedules?limit=50']);
      assert.deepEqual(preloads(await (await fetch(`${base}/`)).text()), []);
      const runs = await fetch(`${base}/runs`, { headers: { cookie: `baton_session=${named}` } });
      assert.deepEqual(preloads(await runs.text()), []);
    });

    it('passes axe-core (WCAG 2 A/AA) on every page, at 375 px and on a wide screen', async () => {
      const [run] = await db.query<{ id: string }>(`select id from baton.runs order by id desc limit 1`);
      const pages: Array<[string, string]> = [
        ['schedules', '/'],
        ['schedule', '/schedules/nightly-report'],
        ['new', '/new'],
        ['runs', '/runs'],
        ['run', `/runs/${run!.id}`],
        ['cluster', '/cluster'],
        ['tasks', '/tasks'],
      ];
      if (screenshots) mkdirSync(screenshots, { recursive: true });
      for (const width of [375, 1280]) {
        const page = await signedIn(admin, width);
        for (const [name, path] of pages) {
          await page.goto(base + path);
          await page.getByRole('heading', { level: 1 }).waitFor();
          await page.locator('main[aria-busy="false"]').waitFor();
          const violations = await axeViolations(page);
          assert.deepEqual(violations, [], `${name} at ${width} px: ${JSON.stringify(violations, null, 1)}`);
          const overflow = Number(
            await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth'),
          );
          assert.ok(overflow <= 0, `${name} at ${width} px scrolls sideways by ${overflow} px`);
          if (screenshots) await page.screenshot({ path: `${screenshots}/${name}-${width}.png`, fullPage: true });
        }
        await page.context().close();
      }
    });
  },
);
