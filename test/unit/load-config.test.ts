import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { loadConfig } from '../../src/config/load-config.ts';

const dir = mkdtempSync(join(tmpdir(), 'baton-config-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('loadConfig: settings from files', () => {
  it('reads <SETTING>_FILE for any setting, a family member included, without the trailing newline', () => {
    const config = loadConfig(
      {},
      {
        DATABASE_URL_FILE: file('db', 'postgres://app:pw@db/app\n'),
        BATON_SECRET_TOKEN_FILE: file('token', 's3cret\r\n'),
        BATON_SQL_DATABASE_REPORTING_FILE: file('reporting', 'postgres://reports@db/reporting'),
        BATON_SHELL_USER_FILE: file('user', 'nobody\n'),
      },
    );
    assert.equal(config.databaseUrl, 'postgres://app:pw@db/app');
    assert.deepEqual(config.worker.secrets, { TOKEN: 's3cret' });
    assert.deepEqual(config.worker.sqlDatabases, { reporting: 'postgres://reports@db/reporting' });
    assert.equal(config.worker.shellUser, 'nobody');
  });

  it('refuses a setting given both ways, and a file it cannot read, naming the variable', () => {
    assert.throws(
      () => loadConfig({}, { DATABASE_URL: 'postgres://a@b/c', DATABASE_URL_FILE: file('x', 'postgres://d@e/f') }),
      { message: 'invalid configuration: set DATABASE_URL or DATABASE_URL_FILE, not both', field: 'DATABASE_URL_FILE' },
    );
    assert.throws(() => loadConfig({}, { BATON_SECRET_X_FILE: join(dir, 'missing') }), {
      message: /^invalid configuration: BATON_SECRET_X_FILE: ENOENT/,
    });
  });

  it('leaves other *_FILE variables and names like constructor alone', () => {
    const config = loadConfig({}, { SSL_CERT_FILE: '/nowhere', constructor: 'x', toString: 'y' });
    assert.equal(config.databaseUrl, undefined);
  });
});

describe('loadConfig: flags over environment over defaults', () => {
  const env = {
    DATABASE_URL: 'postgres://app@db/app',
    BATON_SCHEMA: 'jobs',
    BATON_WORKER_SCHEMA: 'jobs_worker',
    BATON_LOG_LEVEL: 'debug',
    BATON_NODE_HEARTBEAT_MS: '1500',
    BATON_NODE_DEAD_AFTER_MS: '9000',
    BATON_HEARTBEAT_MS: '250',
    BATON_SESSION_TIMEOUT_MS: '1500',
    BATON_RESYNC_INTERVAL_MS: '60000',
    BATON_MISFIRE_GRACE_MS: '500',
    BATON_FIRE_BATCH: '1000',
    BATON_CONCURRENCY: '4',
    BATON_SHELL: 'true',
    BATON_SHELL_ALLOW: '/opt/jobs/*.sh',
    BATON_SHELL_ENV_ALLOW: 'FOO, BAR_*',
    BATON_SHELL_USER: 'nobody',
    BATON_SQL: '0',
    BATON_HTTP_ALLOW: 'api.example.com,*.internal',
    BATON_POLL_INTERVAL_MS: '500',
    BATON_OUTPUT_LIMIT_BYTES: '1024',
    BATON_OUTPUT_FLUSH_MS: '0',
    BATON_KILL_GRACE_MS: '100',
    BATON_RUNS_KEEP: '50',
    BATON_RUNS_KEEP_DAYS: '7',
    BATON_EVENTS_KEEP_DAYS: '3',
    BATON_PRUNE_BATCH: '200',
    BATON_PRUNE_INTERVAL_MS: '30000',
    BATON_SQL_DATABASE_REPORTING: 'postgres://reports@db/reporting',
    BATON_SQL_LOGIN_APP_OWNER: 'postgres://app_owner@db/app',
    BATON_SECRET_TOKEN: 's3cret',
  };

  it('sets every setting from its variable', () => {
    const config = loadConfig({}, env);
    assert.deepEqual(
      {
        databaseUrl: config.databaseUrl,
        schema: config.schema,
        workerSchema: config.workerSchema,
        logLevel: config.logLevel,
        nodeHeartbeatMs: config.nodeHeartbeatMs,
        nodeDeadAfterMs: config.nodeDeadAfterMs,
      },
      {
        databaseUrl: 'postgres://app@db/app',
        schema: 'jobs',
        workerSchema: 'jobs_worker',
        logLevel: 'debug',
        nodeHeartbeatMs: 1500,
        nodeDeadAfterMs: 9000,
      },
    );
    assert.deepEqual(config.scheduler, {
      heartbeatMs: 250,
      sessionTimeoutMs: 1500,
      resyncIntervalMs: 60_000,
      misfireGraceMs: 500,
      fireBatchSize: 1000,
    });
    assert.deepEqual(config.retention, {
      runsPerSchedule: 50,
      runsDays: 7,
      eventsDays: 3,
      batchSize: 200,
      intervalMs: 30_000,
    });
    const { worker } = config;
    assert.deepEqual(
      {
        concurrency: worker.concurrency,
        shell: worker.shell,
        shellAllow: worker.shellAllow,
        shellEnvAllow: worker.shellEnvAllow,
        shellUser: worker.shellUser,
        sql: worker.sql,
        httpAllow: worker.httpAllow,
        pollIntervalMs: worker.pollIntervalMs,
        outputLimitBytes: worker.outputLimitBytes,
        outputFlushMs: worker.outputFlushMs,
        killGraceMs: worker.killGraceMs,
        sqlDatabases: worker.sqlDatabases,
        sqlLogins: worker.sqlLogins,
        secrets: worker.secrets,
      },
      {
        concurrency: 4,
        shell: true,
        shellAllow: ['/opt/jobs/*.sh'],
        shellEnvAllow: ['FOO', 'BAR_*'],
        shellUser: 'nobody',
        sql: false,
        httpAllow: ['api.example.com', '*.internal'],
        pollIntervalMs: 500,
        outputLimitBytes: 1024,
        outputFlushMs: 0,
        killGraceMs: 100,
        sqlDatabases: { reporting: 'postgres://reports@db/reporting' },
        sqlLogins: { app_owner: 'postgres://app_owner@db/app' },
        secrets: { TOKEN: 's3cret' },
      },
    );
  });

  it('takes a flag over its variable, and keeps the variables of the same group it does not override', () => {
    const config = loadConfig({ schema: 'from_flag', worker: { concurrency: 2 } }, env);
    assert.equal(config.schema, 'from_flag');
    assert.equal(config.worker.concurrency, 2);
    assert.equal(config.worker.killGraceMs, 100);
    assert.equal(config.workerSchema, 'jobs_worker');
  });

  it('falls back to the defaults', () => {
    const config = loadConfig({}, {});
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.schema, 'baton');
    assert.equal(config.workerSchema, 'graphile_worker');
    assert.equal(config.scheduler.sessionTimeoutMs, 2_000);
    assert.equal(config.scheduler.heartbeatMs, 500);
    assert.equal(config.worker.concurrency, 10);
    assert.equal(config.worker.shell, false);
    assert.equal(config.worker.sql, true);
    assert.deepEqual(config.worker.httpAllow, []);
    assert.equal(config.retention.runsPerSchedule, 1_000);
  });

  it('names the variable of a value it refuses', () => {
    assert.throws(() => loadConfig({}, { BATON_CONCURRENCY: 'many' }), /concurrency/);
    assert.throws(
      () => loadConfig({}, { BATON_SCHEMA: 'Bad-Name' }),
      /schema: must be a lower-case Postgres identifier/,
    );
  });
});
