// A web app that embeds pgbaton: its own pg.Pool, one app task, and each subscriber's
// schedule written in the same transaction as the subscriber's row, so a request that
// fails leaves neither.
//
//   DATABASE_URL=postgres://... PORT=3000 node server.mjs
//   curl -X POST localhost:3000/digests -d '{"email":"ada@example.com","cron":"*/10 * * * * *"}'
//   curl localhost:3000/digests
//   curl -X DELETE localhost:3000/digests/ada@example.com
import { createServer } from 'node:http';

import pg from 'pg';
import { Baton, BatonError } from 'pgbaton';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });

await pool.query(`
  create table if not exists digests (
    id bigint generated always as identity primary key,
    email text not null unique,
    cron text not null,
    created_at timestamptz not null default now()
  );
  create table if not exists digest_deliveries (
    id bigint generated always as identity primary key,
    email text not null references digests (email) on delete cascade,
    fire_at timestamptz not null,
    sent_at timestamptz not null default now()
  )`);

const baton = new Baton({
  pool,
  tasks: {
    'digest:send': {
      description: 'Sends one subscriber their digest (here: records it in digest_deliveries)',
      run: async ({ email }, { fireAt }) => {
        await pool.query('insert into digest_deliveries (email, fire_at) values ($1, $2)', [email, fireAt]);
        return { result: { sentTo: email } };
      },
    },
  },
});
await baton.migrate();
await baton.start();

/** Runs fn on one client of the pool inside BEGIN … COMMIT, rolling back if it throws. */
async function transaction(fn) {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback');
    throw error;
  } finally {
    client.release();
  }
}

const routes = {
  async 'POST /digests'(body) {
    const { email, cron } = body;
    if (typeof email !== 'string' || !email.includes('@')) return [400, { error: 'email is required', field: 'email' }];
    const schedule = await transaction(async (client) => {
      const { rows } = await client.query('insert into digests (email, cron) values ($1, $2) returning id', [
        email,
        cron,
      ]);
      // The schedule is the database's to validate: a bad cron throws a BatonError naming the
      // field, and the subscriber's row rolls back with it.
      const name = `digest:${rows[0].id}`;
      await baton.schedule(name, cron, 'digest:send', { email }, { maxAttempts: 3 }, { client });
      return name;
    });
    return [201, { email, cron, schedule }];
  },
  async 'GET /digests'() {
    const { rows } = await pool.query(`
      select d.email, d.cron, count(dd.id)::int as deliveries, max(dd.sent_at) as "lastSentAt"
      from digests d left join digest_deliveries dd using (email)
      group by d.email, d.cron order by d.email`);
    return [200, rows];
  },
  async 'DELETE /digests'(_body, email) {
    const removed = await transaction(async (client) => {
      const { rows } = await client.query('delete from digests where email = $1 returning id', [email]);
      for (const { id } of rows) await baton.unschedule(`digest:${id}`, { client });
      return rows.length > 0;
    });
    return removed ? [204, null] : [404, { error: `no subscriber ${email}`, field: 'email' }];
  },
};

const server = createServer(async (request, response) => {
  const [, resource, key] = request.url.split('/');
  const route = routes[`${request.method} /${resource}`];
  let status = 404;
  let body = { error: 'not found' };
  try {
    if (route) {
      let text = '';
      for await (const chunk of request) text += chunk;
      [status, body] = await route(text ? JSON.parse(text) : {}, key && decodeURIComponent(key));
    }
  } catch (error) {
    if (error instanceof BatonError) [status, body] = [400, { error: error.message, field: error.field }];
    else if (error.code === '23505') [status, body] = [409, { error: 'already subscribed', field: 'email' }];
    else if (error instanceof SyntaxError) [status, body] = [400, { error: 'the body is not JSON' }];
    else [status, body] = [500, { error: 'internal error' }];
    if (status === 500) baton.logger.error({ err: error }, 'request failed');
  }
  response.writeHead(status, body === null ? {} : { 'content-type': 'application/json' });
  response.end(body === null ? undefined : JSON.stringify(body));
});

server.listen(Number(process.env.PORT ?? 3000), '127.0.0.1', () => {
  baton.logger.info({ url: `http://127.0.0.1:${server.address().port}` }, 'listening');
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, async () => {
    server.close();
    await baton.stop();
    await pool.end();
  });
}
