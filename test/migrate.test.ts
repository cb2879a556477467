// Migrations: graphile-worker's and pgbaton's, idempotent, safe to run from many nodes at once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import type pg from 'pg';

import { createLogger } from '../src/core/logger.ts';
import { readDefinitions } from '../src/db/definitions.ts';
import { isMigrated, migrate, readMigrations } from '../src/db/migrate.ts';
import { version } from '../src/version.ts';
import { schemaCatalog } from './helpers/catalog.ts';
import { createTestDatabase, type TestDatabase, testPool, withClient } from './helpers/db.ts';
import { installPreRelease } from './helpers/pre-release.ts';

const schemas = { schema: 'baton', workerSchema: 'graphile_worker' };
const logger = createLogger({ level: 'silent', pretty: false });
/** What a first migrate applies: every migration, then every definition file. */
const everything = () => [
  ...readMigrations().map((m) => `${m.id}_${m.name}`),
  ...readDefinitions().map((definition) => definition.file),
];

describe('migrate', () => {
  let db: TestDatabase;
  let pools: pg.Pool[];
  before(async () => {
    db = await createTestDatabase({ empty: true });
    pools = [1, 2, 3].map(() => testPool(db.url));
  });
  after(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await db.drop();
  });

  it('applies every migration once when three nodes migrate at the same time', async () => {
    assert.equal(await isMigrated(pools[0]!, schemas), false, 'an empty database is behind');
    const results = await Promise.all(pools.map((pool) => migrate(pool, schemas, logger)));
    const applied = results.flatMap((result) => result.applied);
    assert.deepEqual(applied.sort(), everything().sort());
    const rows = await db.query(`select id from baton.migrations order by id`);
    assert.deepEqual(
      rows.map((row) => row.id),
      readMigrations().map((m) => m.id),
    );
    const { jobs } = await db.one(`select to_regclass('graphile_worker._private_jobs') is not null as jobs`);
    assert.equal(jobs, true);
  });

  it('does nothing the second time', async () => {
    assert.deepEqual(await migrate(pools[0]!, schemas, logger), { applied: [] });
  });

  it('knows when a node at its start need not migrate (nor load graphile-worker)', async () => {
    assert.equal(await isMigrated(pools[0]!, schemas), true);
    const last = readMigrations().at(-1)!;
    await db.query(`delete from baton.migrations where id = $1`, [last.id]);
    assert.equal(await isMigrated(pools[0]!, schemas), false, 'a migration not run yet');
    await db.query(`insert into baton.migrations (id, name, hash) values ($1, $2, 'edited')`, [last.id, last.name]);
    assert.equal(await isMigrated(pools[0]!, schemas), false, 'a migration edited after it ran');
    await db.query(`update baton.migrations set hash = $2 where id = $1`, [last.id, last.hash]);
    assert.equal(await isMigrated(pools[0]!, { ...schemas, schema: 'baton_none' }), false, 'no such schema');
    await db.query(`update baton.definitions set hash = 'edited' where file = 'sql/runs/feed.sql'`);
    assert.equal(await isMigrated(pools[0]!, schemas), false, 'a definition changed since it was installed');
    assert.deepEqual(await migrate(pools[0]!, schemas, logger), { applied: ['sql/runs/feed.sql'] });
  });

  it('installs again exactly the definitions whose file changed, and grants the roles', async () => {
    await db.query(`revoke execute on function baton.cancel(bigint) from baton_admin`);
    await db.query(`update baton.definitions set hash = 'old' where file = 'sql/runs/api.sql'`);
    assert.deepEqual(await migrate(pools[0]!, schemas, logger), { applied: ['sql/runs/api.sql'] });
    const { admin_cancels } = await db.one(
      `select has_function_privilege('baton_admin', 'baton.cancel(bigint)', 'execute') as admin_cancels`,
    );
    assert.equal(admin_cancels, true);
    assert.equal(await isMigrated(pools[0]!, schemas), true);
  });

  it('leaves definitions a newer pgbaton installed to it, during a rolling upgrade', async () => {
    await db.query(`update baton.definitions set hash = 'newer', version = '999.0.0' where file = 'sql/runs/api.sql'`);
    assert.deepEqual(await migrate(pools[0]!, schemas, logger), { applied: [] });
    const { versions } = await db.one(
      `select array_agg(distinct version order by version) as versions from baton.definitions`,
    );
    assert.deepEqual(versions, ['999.0.0', version].sort());
    await db.query(`update baton.definitions set hash = 'old', version = $1 where file = 'sql/runs/api.sql'`, [
      version,
    ]);
    assert.deepEqual(await migrate(pools[0]!, schemas, logger), { applied: ['sql/runs/api.sql'] });
  });

  it('refuses a migration edited after it ran', async () => {
    await db.query(`update baton.migrations set hash = 'edited' where id = 1`);
    await assert.rejects(migrate(pools[0]!, schemas, logger), /migration 1_baseline was edited after it ran/);
  });

  it('installs a second copy under another schema beside the first', async () => {
    const other = { schema: 'baton_two', workerSchema: 'graphile_worker' };
    assert.deepEqual((await migrate(pools[1]!, other, logger)).applied, everything());
    const { rows } = await pools[1]!.query(
      `select baton_two.job_identifier('shell') as identifier, baton_two.leader_lock_key() <> baton.leader_lock_key() as distinct_key`,
    );
    assert.deepEqual(rows[0], { identifier: 'baton_two:shell', distinct_key: true });
  });
});

describe('migrate as a plain database owner', () => {
  // Roles belong to the cluster: names of this run only, dropped afterwards.
  const suffix = randomBytes(4).toString('hex');
  const owner = `owner_${suffix}`;
  const database = `owned_${suffix}`;
  const schema = `acme_${suffix}`;
  const adminUrl = process.env.BATON_TEST_ADMIN_URL!;
  const admin = (sql: string) => withClient(adminUrl, (client) => client.query(sql));
  let pool: pg.Pool;

  before(async () => {
    await admin(`create role ${owner} login`);
    await admin(`create database ${database} owner ${owner} template template0`);
    const url = new URL(adminUrl);
    [url.username, url.pathname] = [owner, `/${database}`];
    pool = testPool(url.toString());
  });
  after(async () => {
    await pool.end();
    await admin(`drop database if exists ${database} with (force)`);
    for (const role of [`${schema}_admin`, `${schema}_reader`, owner]) await admin(`drop role if exists ${role}`);
  });

  it('installs everything but the roles it may not create, and grants them once a DBA has', async () => {
    const { applied } = await migrate(pool, { schema, workerSchema: `gw_${suffix}` }, logger);
    assert.deepEqual(applied, everything());
    const exists = await pool.query(`select count(*)::int as roles from pg_roles where rolname like $1`, [
      `${schema}_%`,
    ]);
    assert.equal(exists.rows[0].roles, 0);
    await pool.query(`select ${schema}.schedule('a', '@daily', 'sql', '{"sql":"select 1"}')`);

    await admin(`create role ${schema}_admin nologin; create role ${schema}_reader nologin`);
    await pool.query(`select ${schema}.grant_roles()`);
    const { rows } = await pool.query(
      `select has_table_privilege($1, $3, 'select') as reads, has_table_privilege($1, $3, 'insert') as reader_writes,
              has_function_privilege($2, $4, 'execute') as admin_schedules`,
      [
        `${schema}_reader`,
        `${schema}_admin`,
        `${schema}.schedules`,
        `${schema}.schedule(text, text, text, jsonb, jsonb)`,
      ],
    );
    assert.deepEqual(rows[0], { reads: true, reader_writes: false, admin_schedules: true });
  });
});

describe('migrate an installation made before the migrations were folded', () => {
  let fresh: TestDatabase;
  let old: TestDatabase;
  let pools: pg.Pool[];
  before(async () => {
    [fresh, old] = await Promise.all([createTestDatabase({ empty: true }), createTestDatabase({ empty: true })]);
    pools = [testPool(fresh.url), testPool(old.url)];
  });
  after(async () => {
    await Promise.all(pools.map((pool) => pool.end()));
    await Promise.all([fresh.drop(), old.drop()]);
  });

  it('refuses one that stopped part way, changing nothing', async () => {
    await installPreRelease(pools[1]!, schemas, { through: 12 });
    await assert.rejects(
      migrate(pools[1]!, schemas, logger),
      /schema baton was installed by a pre-release pgbaton and stops at migration 12_hardening/,
    );
    const { count } = await old.one(`select count(*)::int as count from baton.migrations`);
    assert.equal(count, 12);
    await old.query(`drop schema baton cascade`);
  });

  it("takes over one with every pre-release migration: its data stays, its catalog is a fresh install's", async () => {
    await installPreRelease(pools[1]!, schemas);
    await old.query(`select baton.schedule('kept', '*/5 * * * *', 'sql', '{"sql": "select 1"}')`);
    const { id: runId } = await old.one(`select baton.trigger('kept') as id`);
    await old.query(
      `select baton.schedule('typo', '0 0 * * *', 'not_published', '{}', '{"allow_unknown_task": true}')`,
    );

    assert.equal(await isMigrated(pools[1]!, schemas), false);
    const { applied } = await migrate(pools[1]!, schemas, logger);
    // Everything after the baseline: the migrations since, every definition.
    assert.deepEqual(applied, everything().slice(1));
    await migrate(pools[0]!, schemas, logger);
    assert.deepEqual(await schemaCatalog(old.client, 'baton'), await schemaCatalog(fresh.client, 'baton'));
    assert.equal(await isMigrated(pools[1]!, schemas), true);

    const rows = await old.query(`select name, owner from baton.schedules order by name`);
    assert.deepEqual(
      rows.map((row) => row.name),
      ['kept', 'typo'],
    );
    const run = await old.one(
      `select schedule_name, status, job_id is not null as enqueued from baton.runs where id = $1`,
      [runId],
    );
    assert.deepEqual(run, { schedule_name: 'kept', status: 'pending', enqueued: true });
    const fires = await old.query(`select fire_at from baton.preview('kept', 2)`);
    assert.equal(fires[1]!.fire_at - fires[0]!.fire_at, 5 * 60_000);
  });
});
