// The HTTP API as a client on another host uses it: a real `baton start --port 0` process, real
// requests, every answer checked against the OpenAPI document the server publishes.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { Ajv } from 'ajv';

import { type BatonProcess, spawnBaton } from './helpers/baton-process.ts';
import { createTestDatabase, type TestDatabase, withClient } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

interface Answer {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON, checked against the OpenAPI document
}

let db: TestDatabase;
let node: BatonProcess;
let base: string;
const tokens = { admin: '', reader: '' };
let openapi: { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
const ajv = new Ajv({ strict: false, allErrors: true });

/** A request as curl would send it; the answer is checked against the OpenAPI document. */
async function call(
  method: string,
  path: string,
  {
    token = tokens.admin,
    body,
    headers = {},
  }: { token?: string | null; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const response = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
      ...headers,
    },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  const answer = { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  if (response.status >= 400)
    assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
  conforms(method, path, answer);
  return answer;
}

/** The answer is one the OpenAPI document describes for that route and status. */
function conforms(method: string, path: string, answer: Answer) {
  const route = Object.keys(openapi.paths).find((template) =>
    new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path.split('?')[0]!),
  );
  if (!route) return; // the public routes outside /api/v1
  const described = openapi.paths[route]![method.toLowerCase()]!.responses[String(answer.status)] as
    { content?: Record<string, { schema: object }> } | undefined;
  assert.ok(described, `${method} ${route} does not document status ${answer.status}`);
  const schema = described.content && Object.values(described.content)[0]?.schema;
  if (!schema) return;
  const valid = ajv.validate(schema, answer.body);
  assert.ok(valid, `${method} ${path} ${answer.status}: ${ajv.errorsText()}: ${JSON.stringify(answer.body)}`);
}

before(async () => {
  db = await createTestDatabase();
  for (const role of ['admin', 'reader'] as const) {
    tokens[role] = (await db.one(`select baton.create_token($1, $1) as token`, [role])).token;
  }
  node = spawnBaton(['start', '--port', '0', '--host', '127.0.0.1', '--database-url', db.url]);
  const listening = await node.waitForLog('the API to listen', (line) => line.msg === 'http listening');
  base = listening.url as string;
  openapi = (await (await fetch(`${base}/api/v1/openapi.json`)).json()) as typeof openapi;
});
after(async () => {
  await node?.stop();
  await db.drop();
});

describe('tokens', () => {
  it('refuses a request without a token, or with one the database does not know, with 401', async () => {
    assert.equal((await call('GET', '/api/v1/schedules', { token: null })).status, 401);
    const unknown = await call('GET', '/api/v1/schedules', { token: 'baton_0123' });
    assert.equal(unknown.status, 401);
    assert.match(unknown.body.detail, /not known/);
  });

  it('lets a reader read and refuses it any change with 403; answers health and the document without one', async () => {
    assert.equal((await call('GET', '/api/v1/schedules', { token: tokens.reader })).status, 200);
    const write = await call('PUT', '/api/v1/schedules/r', { token: tokens.reader, body: { task: 'sql' } });
    assert.equal(write.status, 403);
    assert.equal((await db.query(`select 1 from baton.schedules where name = 'r'`)).length, 0);
    assert.equal((await call('GET', '/healthz', { token: null })).status, 200);
    assert.deepEqual((await call('GET', '/readyz', { token: null })).body, { status: 'ready' });
    assert.equal(openapi.paths['/api/v1/schedules/{name}'] !== undefined, true);
  });

  it('stops working from the request after its revocation', async () => {
    const { token } = await db.one(`select baton.create_token('brief', 'reader') as token`);
    assert.equal((await call('GET', '/api/v1/tasks', { token })).status, 200);
    await db.query(`select baton.revoke_token('brief')`);
    assert.equal((await call('GET', '/api/v1/tasks', { token })).status, 401);
  });
});

describe('schedules', () => {
  const sql = { sql: 'select 1' };

  it('upserts with PUT: 201 then 200, an ETag, and If-Match that must still hold (412)', async () => {
    const created = await call('PUT', '/api/v1/schedules/nightly', {
      body: { cron: '0 3 * * *', task: 'sql', payload: sql },
    });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/api/v1/schedules/nightly');
    assert.equal(created.body.state, 'active');
    const etag = created.headers.get('etag')!;
    const same = await call('PUT', '/api/v1/schedules/nightly', {
      body: { cron: '0 3 * * *', task: 'sql', payload: sql },
    });
    assert.equal(same.status, 200);
    assert.equal(same.headers.get('etag'), etag, 'an unchanged schedule is not rewritten');
    const stale = await call('PUT', '/api/v1/schedules/nightly', {
      body: { cron: '0 4 * * *', task: 'sql', payload: sql },
      headers: { 'if-match': '"not-it"' },
    });
    assert.equal(stale.status, 412);
    const matched = await call('PUT', '/api/v1/schedules/nightly', {
      body: { cron: '0 4 * * *', task: 'sql', payload: sql, timezone: 'Europe/Berlin' },
      headers: { 'if-match': etag },
    });
    assert.equal(matched.status, 200);
    assert.equal(matched.body.cron, '0 4 * * *');
    assert.notEqual(matched.headers.get('etag'), etag);
  });

  it('creates with POST (201, Location) once: the name taken is 409; the Jobsched interval shape works', async () => {
    const body = { name: 'every-5m', interval: { minutes: 5 }, task: 'sql', payload: sql, description: 'jobsched' };
    const created = await call('POST', '/api/v1/schedules', { body });
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('location'), '/api/v1/schedules/every-5m');
    const { every } = await db.one(`select every::text from baton.schedules where name = 'every-5m'`);
    assert.equal(every, '00:05:00');
    const again = await call('POST', '/api/v1/schedules', { body });
    assert.equal(again.status, 409);
  });

  it('names the field the database refused (400), and the malformed and the non-JSON bodies (400, 415)', async () => {
    const cases: Array<[unknown, string]> = [
      [{ cron: '61 * * * *', task: 'sql', payload: sql }, 'cron'],
      [{ cron: '* * * * *', task: 'sql', payload: sql, timezone: 'Mars/Base' }, 'timezone'],
      [{ every: '1 second', task: 'shell', payload: {} }, 'payload.command'],
      [{ task: 'sql', payload: sql, colour: 'red' }, 'colour'],
      [{ task: 'sql', payload: sql, priority: 'high' }, 'priority'],
    ];
    for (const [body, field] of cases) {
      const answer = await call('PUT', '/api/v1/schedules/bad', { body });
      assert.equal(answer.status, 400, JSON.stringify(answer.body));
      assert.equal(answer.body.errors[0].field, field, JSON.stringify(answer.body));
    }
    assert.equal(
      (
        await call('PUT', '/api/v1/schedules/bad', {
          body: '{"task": ',
          headers: { 'content-type': 'application/json' },
        })
      ).status,
      400,
    );
    assert.equal(
      (await call('PUT', '/api/v1/schedules/bad', { body: 'task=sql', headers: { 'content-type': 'text/plain' } }))
        .status,
      415,
    );
    assert.equal((await db.query(`select 1 from baton.schedules where name = 'bad'`)).length, 0);
  });

  it('reads one with its next fires and recent runs; 404 for a name that does not exist', async () => {
    const one = await call('GET', '/api/v1/schedules/nightly');
    assert.equal(one.status, 200);
    assert.equal(one.body.next_fires.length, 5);
    assert.deepEqual(one.body.recent_runs, []);
    assert.equal((await call('GET', '/api/v1/schedules/nope')).status, 404);
  });

  it('changes the fields given with PATCH, a new timing replacing the old', async () => {
    const patched = await call('PATCH', '/api/v1/schedules/nightly', {
      body: { every: '1 hour', labels: { team: 'data' } },
    });
    assert.equal(patched.status, 200);
    assert.deepEqual(
      [patched.body.cron, patched.body.every, patched.body.timezone],
      [null, '01:00:00', 'Europe/Berlin'],
    );
    assert.equal((await call('PATCH', '/api/v1/schedules/nope', { body: { enabled: false } })).status, 404);
  });

  it('pauses and resumes', async () => {
    assert.equal((await call('POST', '/api/v1/schedules/nightly/pause')).body.state, 'paused');
    assert.equal((await call('POST', '/api/v1/schedules/nightly/resume')).body.enabled, true);
  });

  it('triggers a run (202, Location) that a worker runs', async () => {
    const triggered = await call('POST', '/api/v1/schedules/nightly/trigger', { body: {} });
    assert.equal(triggered.status, 202);
    assert.equal(triggered.headers.get('location'), `/api/v1/runs/${triggered.body.id}`);
    await waitFor('the triggered run to succeed', async () => {
      const run = await call('GET', `/api/v1/runs/${triggered.body.id}`);
      return run.body.status === 'succeeded';
    });
  });

  it('pages through 30 schedules with a cursor, and filters by task and label', async () => {
    for (let i = 0; i < 30; i++) {
      await call('PUT', `/api/v1/schedules/page-${String(i).padStart(2, '0')}`, {
        body: { task: 'sql', payload: sql, labels: { page: i % 2 ? 'odd' : 'even' } },
      });
    }
    const names: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const page: Answer = await call('GET', `/api/v1/schedules?limit=7&task=sql${cursor ? `&cursor=${cursor}` : ''}`);
      names.push(...page.body.items.map((item: { name: string }) => item.name));
      cursor = page.body.next_cursor;
    }
    assert.deepEqual(
      names.filter((name) => name.startsWith('page-')),
      Array.from({ length: 30 }, (_, i) => `page-${String(i).padStart(2, '0')}`),
    );
    const odd = await call('GET', '/api/v1/schedules?label=page:odd&limit=100');
    assert.equal(odd.body.items.length, 15);
    assert.equal((await call('GET', '/api/v1/schedules?limit=0')).status, 400);
  });

  it('lists items with every column of the schedule (but applied_hash) and of its status, as GET by name has them', async () => {
    const columns = async (table: string) =>
      (
        await db.one<{ names: string[] }>(
          `select array_agg(column_name::text order by column_name) as names from information_schema.columns
           where table_schema = 'baton' and table_name = $1`,
          [table],
        )
      ).names;
    const expected = [...new Set([...(await columns('schedules')), ...(await columns('schedule_status'))])]
      .filter((name) => name !== 'applied_hash')
      .concat('recent_outcomes')
      .sort();
    const [item] = (await call('GET', '/api/v1/schedules?limit=1')).body.items;
    assert.deepEqual(Object.keys(item).sort(), expected);
    const { body: detail } = await call('GET', `/api/v1/schedules/${item.name}`);
    for (const key of expected) assert.deepEqual(detail[key], item[key], key);
  });

  it('deletes (204), keeping the history unless purged; then it is 404', async () => {
    assert.equal((await call('DELETE', '/api/v1/schedules/nightly')).status, 204);
    assert.equal((await call('GET', '/api/v1/schedules/nightly')).status, 404);
    assert.equal((await call('DELETE', '/api/v1/schedules/nightly')).status, 404);
    const { count } = await db.one(`select count(*)::int as count from baton.runs where schedule_name = 'nightly'`);
    assert.equal(count, 1);
  });
});

describe('runs, tasks and the cluster', () => {
  it('starts an ad-hoc run (202), lists runs newest first, and cancels one (202)', async () => {
    const started = await call('POST', '/api/v1/runs', {
      body: { task: 'sql', payload: { sql: 'select pg_sleep(30)' }, name: 'adhoc-sleep' },
    });
    assert.equal(started.status, 202);
    await waitFor(
      'the run to start',
      async () => (await call('GET', `/api/v1/runs/${started.body.id}`)).body.status === 'running',
    );
    const cancelled = await call('POST', `/api/v1/runs/${started.body.id}/cancel`);
    assert.equal(cancelled.status, 202);
    await waitFor(
      'the run to be cancelled',
      async () => (await call('GET', `/api/v1/runs/${started.body.id}`)).body.status === 'cancelled',
    );
    const list = await call('GET', '/api/v1/runs?limit=1');
    assert.equal(list.body.items[0].id, Number(started.body.id));
    assert.ok(list.body.next_cursor);
    assert.equal((await call('GET', '/api/v1/runs/999999999')).status, 404);
    const refused = await call('POST', '/api/v1/runs', { body: { task: 'sql', payload: {} } });
    assert.equal(refused.body.errors[0].field, 'payload.sql');
  });

  it('lists the task catalog and the cluster with its leader', async () => {
    const { body: catalog } = await call('GET', '/api/v1/tasks');
    assert.ok(
      catalog.tasks.some(
        (task: { name: string; offered_by: string[] }) => task.name === 'sql' && task.offered_by.length === 1,
      ),
    );
    const { body: cluster } = await call('GET', '/api/v1/cluster');
    assert.equal(cluster.nodes.length, 1);
    assert.equal(cluster.leader?.id, cluster.nodes[0].id);
  });
});

interface ServerSentEvent {
  id?: string;
  event: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- JSON of the event
  at: number;
}

/** A client of /api/v1/events that keeps every event it reads. */
async function openStream(lastEventId?: string) {
  const abort = new AbortController();
  const response = await fetch(`${base}/api/v1/events`, {
    headers: { authorization: `Bearer ${tokens.reader}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    signal: abort.signal,
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type')!, /^text\/event-stream/);
  const events: ServerSentEvent[] = [];
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffered = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffered += value;
      let end: number;
      while ((end = buffered.indexOf('\n\n')) >= 0) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const field = (name: string) => block.match(new RegExp(`^${name}: (.*)$`, 'm'))?.[1];
        const event = field('event');
        if (event) events.push({ id: field('id'), event, data: JSON.parse(field('data')!), at: performance.now() });
      }
    }
  })();
  return {
    events,
    /** The first event read at or after `since` (performance.now()) that matches. */
    next: (what: string, match: (event: ServerSentEvent) => boolean, since = 0) =>
      waitFor(what, () => events.find((event) => event.at >= since && match(event)), { timeoutMs: 5_000 }),
    close: () => abort.abort(),
  };
}

const withinASecond = (event: ServerSentEvent, since: number) =>
  assert.ok(event.at - since < 1_000, `${event.event} ${JSON.stringify(event.data)} came ${event.at - since} ms later`);

describe('the event stream', () => {
  it('pushes a schedule inserted in psql, within a second', async (t) => {
    const stream = await openStream();
    const committed = performance.now();
    await db.query(
      `insert into baton.schedules (name, task, payload) values ('sse-new', 'sql', '{"sql": "select 1"}')`,
    );
    const event = await stream.next(
      'the insert',
      (e) => e.event === 'schedule' && e.data.name === 'sse-new',
      committed,
    );
    assert.equal(event.data.op, 'insert');
    withinASecond(event, committed);
    t.diagnostic(`commit → event: ${(event.at - committed).toFixed(1)} ms`);
    stream.close();
  });

  it("pushes a triggered run's transitions, and a cancel made in psql, each within a second", async (t) => {
    const stream = await openStream();
    const started = performance.now();
    const triggered = await call('POST', '/api/v1/schedules/sse-new/trigger', { body: {} });
    const id = triggered.body.id;
    for (const status of ['pending', 'running', 'succeeded']) {
      const event = await stream.next(
        `run ${id} ${status}`,
        (e) => e.event === 'run' && e.data.id === id && e.data.status === status,
        started,
      );
      assert.equal(event.data.schedule, 'sse-new');
      withinASecond(event, started);
      t.diagnostic(`trigger → ${status}: ${(event.at - started).toFixed(1)} ms`);
    }

    await db.query(`select baton.schedule('sse-waits', null, 'nobody_offers', '{}', '{"allow_unknown_task": true}')`);
    const { run } = await db.one(`select baton.trigger('sse-waits') as run`);
    const committed = performance.now();
    await db.query(`select baton.cancel($1)`, [run]);
    const cancelled = await stream.next(
      'the cancel',
      (e) => e.event === 'run' && String(e.data.id) === run && e.data.status === 'cancelled',
      committed,
    );
    withinASecond(cancelled, committed);
    t.diagnostic(`cancel in psql → event: ${(cancelled.at - committed).toFixed(1)} ms`);
    stream.close();
  });

  it('pushes a node that joins and leaves', async () => {
    const stream = await openStream();
    await db.query(
      `insert into baton.nodes (id, roles, host, pid, version) values ('sse-node', '{worker}', 'h', 1, 'x')`,
    );
    await db.query(`delete from baton.nodes where id = 'sse-node'`);
    for (const op of ['insert', 'delete']) {
      const event = await stream.next(
        `node ${op}`,
        (e) => e.event === 'node' && e.data.id === 'sse-node' && e.data.op === op,
      );
      assert.deepEqual(event.data.roles, ['worker']);
    }
    stream.close();
  });

  it('replays what a client missed when it comes back with Last-Event-ID, and says resync when it cannot', async () => {
    const first = await openStream();
    const witness = await openStream();
    await db.query(`update baton.schedules set description = 'one' where name = 'sse-new'`);
    const seen = await first.next('the first update', (e) => e.event === 'schedule' && e.data.op === 'update');
    first.close();
    await db.query(`update baton.schedules set description = 'two' where name = 'sse-waits'`);
    // The server has sent the second update once a client that stayed sees it.
    await witness.next('the second update', (e) => e.event === 'schedule' && e.data.name === 'sse-waits');
    witness.close();
    const back = await openStream(seen.id);
    const missed = await back.next(
      'the missed update, replayed',
      (e) => e.event === 'schedule' && e.data.name === 'sse-waits',
      0,
    );
    assert.equal(missed.data.op, 'update');
    back.close();
    const stranger = await openStream('another-server-7');
    await stranger.next('a resync', (e) => e.event === 'resync', 0);
    stranger.close();
  });
});

describe('metrics', () => {
  /** One sample of the Prometheus text: the value of `name{labels}`, undefined when absent. */
  const sample = (text: string, series: string) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  };
  const scrape = async (token: string | null = tokens.reader) => {
    const response = await fetch(`${base}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: response.status, type: response.headers.get('content-type'), text: await response.text() };
  };

  it('needs a token, and answers in the Prometheus text format', async () => {
    assert.equal((await scrape(null)).status, 401);
    const { status, type } = await scrape();
    assert.equal(status, 200);
    assert.match(type!, /^text\/plain; version=0\.0\.4/);
  });

  it("reads each schedule's fires and last success from the database, and counts fires and runs from the feed", async () => {
    await call('PUT', '/api/v1/schedules/metered', {
      body: { cron: '* * * * * *', task: 'sql', payload: { sql: 'select 1' } },
    });
    await waitFor(
      'a scheduled run of metered to succeed',
      async () =>
        (
          await db.query(
            `select 1 from baton.runs where schedule_name = 'metered' and kind = 'scheduled' and status = 'succeeded'`,
          )
        ).length > 0,
    );
    const { text } = await scrape();
    const { last_success } = await db.one(
      `select extract(epoch from max(finished_at))::float8 as last_success from baton.runs where schedule_name = 'metered' and status = 'succeeded'`,
    );
    // The per-schedule gauges are the database's, as of the scrape.
    const scraped = sample(text, 'pgbaton_schedule_last_success_timestamp_seconds{schedule="metered"}')!;
    assert.ok(scraped >= last_success - 1, `${scraped} vs ${last_success}`);
    assert.ok(
      sample(text, 'pgbaton_schedule_next_fire_timestamp_seconds{schedule="metered"}')! > Date.now() / 1000 - 2,
    );
    assert.ok(sample(text, 'pgbaton_schedule_last_fire_timestamp_seconds{schedule="metered"}')! > 0);
    const { active } = await db.one(`select count(*)::int as active from baton.schedule_status where state = 'active'`);
    assert.equal(sample(text, 'pgbaton_schedules{state="active"}'), active);
    assert.equal(sample(text, 'pgbaton_leader'), 1);
    assert.equal(sample(text, 'pgbaton_nodes{role="scheduler"}'), 1);
    // The feed's counters: the runs this node heard of since it started.
    assert.ok(sample(text, 'pgbaton_fires_total{outcome="enqueued"}')! >= 1);
    assert.ok(sample(text, 'pgbaton_runs_total{task="sql",status="succeeded"}')! >= 1);
    assert.ok(sample(text, 'pgbaton_fire_lateness_seconds_count')! >= 1);
    assert.ok(sample(text, 'pgbaton_run_duration_seconds_count{task="sql"}')! >= 1);
    await call('DELETE', '/api/v1/schedules/metered');
  });
});

describe('change history', () => {
  it('records an UPDATE in psql and a PUT over HTTP, each naming its door, and shows them on the schedule', async () => {
    await call('PUT', '/api/v1/schedules/audited', {
      body: { cron: '0 5 * * *', task: 'sql', payload: { sql: 'select 1' } },
    });
    const psql = new URL(db.url);
    psql.searchParams.set('application_name', 'psql');
    await withClient(psql.toString(), (client) =>
      client.query(`update baton.schedules set cron = '0 6 * * *' where name = 'audited'`),
    );
    await call('PUT', '/api/v1/schedules/audited', {
      body: { cron: '0 7 * * *', task: 'sql', payload: { sql: 'select 1' } },
    });
    const { body } = await call('GET', '/api/v1/schedules/audited');
    const changes = body.changes.map((c: Record<string, unknown>) => [c.op, c.via, c.application, c.before, c.after]);
    assert.deepEqual(changes, [
      ['update', 'api:admin', 'pgbaton', { cron: '0 6 * * *' }, { cron: '0 7 * * *' }],
      ['update', null, 'psql', { cron: '0 5 * * *' }, { cron: '0 6 * * *' }],
      ['insert', 'api:admin', 'pgbaton', null, body.changes[2].after],
    ]);
    assert.equal(body.changes[2].after.cron, '0 5 * * *');
    assert.equal(body.changes[1].login, 'postgres');
  });
});

describe('shutdown', () => {
  it('ends the event streams and exits 0 on SIGTERM, having logged no token', async () => {
    const stream = await openStream();
    assert.equal(await node.stop(), 0);
    await waitFor('the stream to end', async () => {
      const answer = await fetch(`${base}/healthz`).catch(() => undefined);
      return answer === undefined;
    });
    stream.close();
    const written = JSON.stringify(node.logs) + node.output.join('\n');
    for (const token of Object.values(tokens)) assert.ok(!written.includes(token), 'a token in the log');
    assert.ok(
      node.logs.some((line) => line.msg === 'http request' && line.token === 'reader'),
      'requests are logged (at debug) with the name of their token',
    );
  });
});
