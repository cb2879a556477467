// The http task on a real worker against local servers: statuses, bodies, timeouts,
// cancels, redirects checked hop by hop, secrets that reach the server and nothing
// else, and the task offered only where an allow-list is set.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';

import { useBaton } from './helpers/baton.ts';
import type { TestDatabase } from './helpers/db.ts';
import { finishedRun, triggerRun as trigger } from './helpers/runs.ts';
import { waitFor } from './helpers/wait.ts';

interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A server on 127.0.0.1 that records every request and answers by path. */
async function startServer(
  routes: (path: string, response: ServerResponse) => void,
): Promise<{ base: string; port: number; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      received.push({
        method: request.method ?? '',
        path,
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      });
      routes(path, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}`, port, received, server };
}

async function stopServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const lines = Array.from({ length: 1000 }, (_, i) => `${i + 1}\n`);

describe('a worker that allows 127.0.0.1', () => {
  let db: TestDatabase;
  let server: Awaited<ReturnType<typeof startServer>>;
  let other: Awaited<ReturnType<typeof startServer>>;
  const received = (path: string) => server.received.filter((request) => request.path === path);

  useBaton(
    (env) => (db = env.db),
    { config: { worker: { httpAllow: ['127.0.0.1'], secrets: { API_TOKEN: 's3cret' }, outputLimitBytes: 64 } } },
    { scheduler: false },
  );

  before(async () => {
    other = await startServer((_, response) => response.end('landed\n'));
    server = await startServer((path, response) => {
      if (path === '/ok' || path === '/echo') return void response.end('hello\n');
      const status = /^\/status\/(\d+)$/.exec(path)?.[1];
      if (status) return void response.writeHead(Number(status)).end('status body\n');
      if (path.startsWith('/hang')) return; // never answers
      if (path === '/lines') {
        for (const line of lines) response.write(line);
        return void response.end();
      }
      const redirects: Record<string, [number, string]> = {
        '/see-other': [303, '/echo'],
        '/redirect-away': [302, `http://localhost:${server.port}/after-redirect`],
        '/redirect-same-origin': [302, '/ok'],
        '/redirect-other-origin': [307, `${other.base}/landing`],
        '/loop': [302, '/loop'],
      };
      const redirect = redirects[path];
      if (redirect) return void response.writeHead(redirect[0], { location: redirect[1] }).end();
      response.writeHead(404).end();
    });
  });
  after(async () => {
    await stopServer(server.server);
    await stopServer(other.server);
  });

  it('calls the URL and keeps the body as stdout, the status as result', async () => {
    const run = await finishedRun(db, await trigger(db, 'get', 'http', { url: `${server.base}/ok` }));
    assert.equal(run.status, 'succeeded', run.error);
    assert.equal(run.stdout, 'hello\n');
    assert.equal(run.result.status, 200);
    assert.equal(run.result.url, `${server.base}/ok`);
    assert.equal(typeof run.result.durationMs, 'number');
    assert.deepEqual(Object.keys(run.result).sort(), ['durationMs', 'status', 'url']);
    assert.equal(received('/ok')[0]?.method, 'GET');
  });

  it('sends a JSON body as JSON', async () => {
    const run = await finishedRun(
      db,
      await trigger(db, 'post', 'http', { url: `${server.base}/echo`, method: 'post', body: { a: 1, b: [true] } }),
    );
    assert.equal(run.status, 'succeeded', run.error);
    const [request] = received('/echo');
    assert.equal(request?.method, 'POST');
    assert.equal(request?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(request!.body), { a: 1, b: [true] });
  });

  it('turns a POST into a GET without body on a 303', async () => {
    server.received.length = 0;
    const run = await finishedRun(
      db,
      await trigger(db, 'see-other', 'http', { url: `${server.base}/see-other`, method: 'POST', body: 'form' }),
    );
    assert.equal(run.status, 'succeeded', run.error);
    assert.equal(run.result.url, `${server.base}/echo`);
    assert.deepEqual(
      server.received.map(({ method, path, body }) => [method, path, body]),
      [
        ['POST', '/see-other', 'form'],
        ['GET', '/echo', ''],
      ],
    );
  });

  it('fails on an unexpected status, naming it', async () => {
    const run = await finishedRun(db, await trigger(db, 'status-500', 'http', { url: `${server.base}/status/500` }));
    assert.equal(run.status, 'failed');
    assert.equal(run.error, `HTTP 500 Internal Server Error from GET ${server.base}/status/500 (expected 2xx)`);
    assert.equal(run.result.status, 500);
    assert.equal(run.stdout, 'status body\n');
  });

  it('succeeds on a status listed in expect_status', async () => {
    const run = await finishedRun(
      db,
      await trigger(db, 'status-404', 'http', { url: `${server.base}/status/404`, expect_status: [404] }),
    );
    assert.equal(run.status, 'succeeded', run.error);
    assert.equal(run.result.status, 404);
  });

  it('fails with the cause when the connection is refused', async () => {
    const closed = await startServer(() => undefined);
    await stopServer(closed.server);
    const run = await finishedRun(db, await trigger(db, 'refused', 'http', { url: `${closed.base}/` }));
    assert.equal(run.status, 'failed');
    assert.match(run.error, /^GET http:\/\/127\.0\.0\.1:\d+\/ failed: .*ECONNREFUSED/);
  });

  it('times out a request that gets no answer', async () => {
    const run = await finishedRun(
      db,
      await trigger(db, 'hang-timeout', 'http', { url: `${server.base}/hang-timeout` }, { timeout: '1 second' }),
    );
    assert.equal(run.status, 'timed_out');
    assert.match(run.error, /timed out after 1000 ms/);
  });

  it('cancels a request in flight', async () => {
    const runId = await trigger(db, 'hang-cancel', 'http', { url: `${server.base}/hang-cancel` });
    await waitFor('the request to arrive', () => received('/hang-cancel').length > 0);
    await db.query(`select baton.cancel($1)`, [runId]);
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'cancelled');
  });

  it('keeps only the tail of a large body, starting at a whole line', async () => {
    const run = await finishedRun(db, await trigger(db, 'lines', 'http', { url: `${server.base}/lines` }));
    assert.equal(run.status, 'succeeded', run.error);
    assert.ok(run.stdout.length <= 64);
    assert.ok(run.stdout.endsWith('999\n1000\n'));
    assert.match(run.stdout, /^\d+\n/);
    assert.equal(Number(run.stdout.split('\n')[0]) + run.stdout.trim().split('\n').length - 1, 1000);
    assert.equal(Number(run.stdout_bytes), lines.join('').length);
  });

  it('refuses a host the worker does not allow, sending nothing and retrying never', async () => {
    const run = await finishedRun(
      db,
      await trigger(
        db,
        'not-allowed',
        'http',
        { url: `http://localhost:${server.port}/not-allowed` },
        { max_attempts: 3 },
      ),
    );
    assert.equal(run.status, 'failed');
    assert.equal(run.attempt, 1);
    assert.match(run.error, new RegExp(`host localhost:${server.port} is not allowed .*; nothing was sent`));
    assert.equal(received('/not-allowed').length, 0);
  });

  it('refuses a redirect to a host the worker does not allow', async () => {
    const run = await finishedRun(
      db,
      await trigger(db, 'redirect-away', 'http', { url: `${server.base}/redirect-away` }),
    );
    assert.equal(run.status, 'failed');
    assert.match(
      run.error,
      new RegExp(`redirected to host localhost:${server.port}, which this worker does not allow`),
    );
    assert.equal(received('/redirect-away').length, 1);
    assert.equal(received('/after-redirect').length, 0);
  });

  it('gives up after 5 redirects', async () => {
    const run = await finishedRun(db, await trigger(db, 'loop', 'http', { url: `${server.base}/loop` }));
    assert.equal(run.status, 'failed');
    assert.equal(run.error, `gave up after 5 redirects, at GET ${server.base}/loop`);
    assert.equal(run.result.status, 302);
    assert.equal(received('/loop').length, 6);
  });

  it('sends a secret header to the server and stores it nowhere', async () => {
    const runId = await trigger(db, 'secret', 'http', {
      url: `${server.base}/redirect-same-origin`,
      headers: { Authorization: { secret: 'API_TOKEN' }, 'X-Plain': 'visible' },
    });
    const run = await finishedRun(db, runId);
    assert.equal(run.status, 'succeeded', run.error);
    assert.equal(received('/redirect-same-origin').at(-1)?.headers.authorization, 's3cret');
    assert.equal(received('/ok').at(-1)?.headers.authorization, 's3cret', 'kept on a same-origin redirect');
    assert.equal(received('/ok').at(-1)?.headers['x-plain'], 'visible');
    const { row } = await db.one(`select r::text as row from baton.runs r where id = $1`, [runId]);
    assert.ok(!row.includes('s3cret'), row);
  });

  it('drops a secret header on a redirect to another origin', async () => {
    const run = await finishedRun(
      db,
      await trigger(db, 'secret-elsewhere', 'http', {
        url: `${server.base}/redirect-other-origin`,
        headers: { 'X-Api-Key': { secret: 'API_TOKEN' }, 'X-Plain': 'visible' },
      }),
    );
    assert.equal(run.status, 'succeeded', run.error);
    assert.equal(run.result.url, `${other.base}/landing`);
    assert.equal(received('/redirect-other-origin').at(-1)?.headers['x-api-key'], 's3cret');
    const landed = other.received.at(-1);
    assert.equal(landed?.headers['x-api-key'], undefined);
    assert.equal(landed?.headers['x-plain'], 'visible');
  });

  it('refuses a header naming a secret the worker does not have', async () => {
    const run = await finishedRun(
      db,
      await trigger(db, 'no-secret', 'http', {
        url: `${server.base}/no-secret`,
        headers: { 'X-Token': { secret: 'MISSING_TOKEN' } },
      }),
    );
    assert.equal(run.status, 'failed');
    assert.match(run.error, /payload\.headers\.X-Token: the secret MISSING_TOKEN is not set/);
    assert.equal(received('/no-secret').length, 0);
  });

  it('rejects a payload with a URL that is not http when the schedule is written', async () => {
    await assert.rejects(db.query(`select baton.schedule('ftp', null, 'http', $1)`, [{ url: 'ftp://x' }]), {
      message: /^payload\.url: "ftp:\/\/x" is not an http:\/\/ or https:\/\/ URL/,
    });
  });
});

describe('a worker without httpAllow', () => {
  let db: TestDatabase;
  useBaton((env) => (db = env.db), {}, { scheduler: false });

  it('does not offer the http task', async () => {
    const httpRun = await trigger(db, 'http-run', 'http', { url: 'http://127.0.0.1:1/' });
    const sqlRun = await trigger(db, 'sql-run', 'sql', { sql: 'select 1' });
    assert.equal((await finishedRun(db, sqlRun)).status, 'succeeded');
    const run = await db.one(`select status, started_at from baton.runs where id = $1`, [httpRun]);
    assert.deepEqual(run, { status: 'pending', started_at: null });
    const catalog = await db.one(`select live_workers from baton.task_catalog where name = 'http'`);
    assert.equal(catalog.live_workers, 0);
  });
});
