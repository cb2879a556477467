import { readFileSync } from 'node:fs';

import { BatonError, errorMessage } from '../core/errors.ts';
import { type Config, type ConfigInput, resolveConfig } from './config.ts';

type EnvInput = Omit<ConfigInput, 'scheduler' | 'worker' | 'retention' | 'http'> & {
  scheduler: Record<string, unknown>;
  worker: Record<string, unknown> & {
    sqlDatabases: Record<string, string>;
    sqlLogins: Record<string, string>;
    secrets: Record<string, string>;
  };
  retention: Record<string, unknown>;
  http: Record<string, unknown>;
};

const flag = (value: string) => /^(1|true|yes|on)$/i.test(value);
/** A list setting: a JSON array, or else the items `plain` reads from the value. */
const list = (value: string, plain: (value: string) => string[]): unknown =>
  value.trimStart().startsWith('[') ? JSON.parse(value) : plain(value);
const commaSeparated = (value: string) =>
  value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/**
 * Variables whose setting takes the value as written (resolveConfig checks and converts it),
 * by where the setting lives: the top of the config or one of its sections.
 */
const plainSettings: Record<string, [section: 'top' | 'scheduler' | 'worker' | 'retention' | 'http', key: string]> = {
  DATABASE_URL: ['top', 'databaseUrl'],
  BATON_SCHEMA: ['top', 'schema'],
  BATON_WORKER_SCHEMA: ['top', 'workerSchema'],
  BATON_LOG_LEVEL: ['top', 'logLevel'],
  BATON_NODE_HEARTBEAT_MS: ['top', 'nodeHeartbeatMs'],
  BATON_NODE_DEAD_AFTER_MS: ['top', 'nodeDeadAfterMs'],
  BATON_HEARTBEAT_MS: ['scheduler', 'heartbeatMs'],
  BATON_SESSION_TIMEOUT_MS: ['scheduler', 'sessionTimeoutMs'],
  BATON_RESYNC_INTERVAL_MS: ['scheduler', 'resyncIntervalMs'],
  BATON_MISFIRE_GRACE_MS: ['scheduler', 'misfireGraceMs'],
  BATON_FIRE_BATCH: ['scheduler', 'fireBatchSize'],
  BATON_CONCURRENCY: ['worker', 'concurrency'],
  BATON_SHELL_USER: ['worker', 'shellUser'],
  BATON_POLL_INTERVAL_MS: ['worker', 'pollIntervalMs'],
  BATON_OUTPUT_LIMIT_BYTES: ['worker', 'outputLimitBytes'],
  BATON_OUTPUT_FLUSH_MS: ['worker', 'outputFlushMs'],
  BATON_KILL_GRACE_MS: ['worker', 'killGraceMs'],
  BATON_RUNS_KEEP: ['retention', 'runsPerSchedule'],
  BATON_RUNS_KEEP_DAYS: ['retention', 'runsDays'],
  BATON_EVENTS_KEEP_DAYS: ['retention', 'eventsDays'],
  BATON_PRUNE_BATCH: ['retention', 'batchSize'],
  BATON_PRUNE_INTERVAL_MS: ['retention', 'intervalMs'],
  BATON_HTTP_PORT: ['http', 'port'],
  BATON_HTTP_HOST: ['http', 'host'],
};

/** BATON_* variables and the settings they set (DATABASE_URL sets databaseUrl). */
const envSettings: Record<string, (input: EnvInput, value: string) => void> = {
  ...Object.fromEntries(
    Object.entries(plainSettings).map(([name, [section, key]]) => [
      name,
      (input: EnvInput, value: string) => {
        (section === 'top' ? (input as Record<string, unknown>) : input[section])[key] = value;
      },
    ]),
  ),
  BATON_SHELL: (input, value) => (input.worker.shell = flag(value)),
  BATON_SQL: (input, value) => (input.worker.sql = flag(value)),
  // Commands may contain commas: one pattern, or a JSON array of them.
  BATON_SHELL_ALLOW: (input, value) => (input.worker.shellAllow = list(value, (pattern) => [pattern])),
  BATON_SHELL_ENV_ALLOW: (input, value) => (input.worker.shellEnvAllow = list(value, commaSeparated)),
  BATON_HTTP_ALLOW: (input, value) => (input.worker.httpAllow = list(value, commaSeparated)),
  BATON_METRICS_PUBLIC: (input, value) => (input.http.metricsPublic = flag(value)),
};

/** Families of variables whose suffix names an entry: BATON_SQL_DATABASE_REPORTING sets sqlDatabases.reporting. */
const envPrefixes: Record<string, (input: EnvInput, name: string, value: string) => void> = {
  BATON_SQL_DATABASE_: (input, name, value) => (input.worker.sqlDatabases[name.toLowerCase()] = value),
  BATON_SQL_LOGIN_: (input, name, value) => (input.worker.sqlLogins[name.toLowerCase()] = value),
  BATON_SECRET_: (input, name, value) => (input.worker.secrets[name] = value),
};

/** Whether the variable is one of the settings above (a family's member included). */
const isSetting = (name: string) =>
  Object.hasOwn(envSettings, name) ||
  Object.keys(envPrefixes).some((prefix) => name.startsWith(prefix) && name.length > prefix.length);

/** The setting a `<SETTING>_FILE` variable names; undefined for any other variable. */
const settingOfFile = (name: string) => (name.endsWith('_FILE') ? name.slice(0, -'_FILE'.length) : undefined);

/**
 * Whether a variable holds a credential or names a file holding one: the connection string,
 * libpq's password settings, and every family above (databases, logins, secrets). A shell
 * task never inherits one.
 */
export function isCredentialVariable(name: string): boolean {
  const setting = settingOfFile(name) ?? name;
  return (
    ['DATABASE_URL', 'PGPASSWORD', 'PGPASSFILE'].includes(setting) ||
    Object.keys(envPrefixes).some((prefix) => setting.startsWith(prefix))
  );
}

/**
 * The set variables, each `<SETTING>_FILE` replaced by <SETTING> with the contents of the
 * file it names (DATABASE_URL_FILE, BATON_SECRET_TOKEN_FILE): a secret read from a file is
 * never in the worker's environment, where a shell task could read it (/proc/<ppid>/environ).
 */
function withFiles(env: NodeJS.ProcessEnv): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    const setting = settingOfFile(name);
    if (setting === undefined || !isSetting(setting)) {
      values[name] = value;
      continue;
    }
    if (env[setting])
      throw new BatonError(`invalid configuration: set ${setting} or ${name}, not both`, 'invalid', name);
    try {
      values[setting] = readFileSync(value, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      throw new BatonError(`invalid configuration: ${name}: ${errorMessage(error)}`, 'invalid', name);
    }
  }
  return values;
}

/**
 * The only reader of the environment: `overrides` (command-line flags) over
 * DATABASE_URL and BATON_* over defaults. Values that are numbers in the config
 * arrive as strings here and are checked by resolveConfig.
 */
export function loadConfig(overrides: Partial<ConfigInput> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const input: EnvInput = {
    scheduler: {},
    worker: { sqlDatabases: {}, sqlLogins: {}, secrets: {} },
    retention: {},
    http: {},
  };
  for (const [name, value] of Object.entries(withFiles(env))) {
    try {
      if (Object.hasOwn(envSettings, name)) envSettings[name]!(input, value);
    } catch (error) {
      throw new BatonError(`invalid configuration: ${name}: ${errorMessage(error)}`, 'invalid', name);
    }
    for (const [prefix, set] of Object.entries(envPrefixes)) {
      if (name.startsWith(prefix) && name.length > prefix.length) set(input, name.slice(prefix.length), value);
    }
  }
  return resolveConfig({
    ...input,
    ...overrides,
    scheduler: { ...input.scheduler, ...overrides.scheduler },
    worker: { ...input.worker, ...overrides.worker },
    retention: { ...input.retention, ...overrides.retention },
    http: { ...input.http, ...overrides.http },
  } as ConfigInput);
}
