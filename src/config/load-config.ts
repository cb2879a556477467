import { type Config, type ConfigInput, resolveConfig } from './config.ts';

/** BATON_* variables and the settings they set (DATABASE_URL sets databaseUrl). */
const envSettings: Record<string, (input: EnvInput, value: string) => void> = {
  DATABASE_URL: (input, value) => (input.databaseUrl = value),
  BATON_SCHEMA: (input, value) => (input.schema = value),
  BATON_WORKER_SCHEMA: (input, value) => (input.workerSchema = value),
  BATON_LOG_LEVEL: (input, value) => (input.logLevel = value as Config['logLevel']),
  BATON_NODE_HEARTBEAT_MS: (input, value) => (input.nodeHeartbeatMs = value),
  BATON_NODE_DEAD_AFTER_MS: (input, value) => (input.nodeDeadAfterMs = value),
  BATON_HEARTBEAT_MS: (input, value) => (input.scheduler.heartbeatMs = value),
  BATON_SESSION_TIMEOUT_MS: (input, value) => (input.scheduler.sessionTimeoutMs = value),
  BATON_RESYNC_INTERVAL_MS: (input, value) => (input.scheduler.resyncIntervalMs = value),
  BATON_MISFIRE_GRACE_MS: (input, value) => (input.scheduler.misfireGraceMs = value),
  BATON_CONCURRENCY: (input, value) => (input.worker.concurrency = value),
  BATON_SHELL: (input, value) => (input.worker.shell = /^(1|true|yes|on)$/i.test(value)),
  BATON_POLL_INTERVAL_MS: (input, value) => (input.worker.pollIntervalMs = value),
  BATON_OUTPUT_LIMIT_BYTES: (input, value) => (input.worker.outputLimitBytes = value),
  BATON_KILL_GRACE_MS: (input, value) => (input.worker.killGraceMs = value),
};

type EnvInput = Omit<ConfigInput, 'scheduler' | 'worker'> & {
  scheduler: Record<string, unknown>;
  worker: Record<string, unknown>;
};

/**
 * The only reader of the environment: `overrides` (command-line flags) over
 * DATABASE_URL and BATON_* over defaults. Values that are numbers in the config
 * arrive as strings here and are checked by resolveConfig.
 */
export function loadConfig(overrides: Partial<ConfigInput> = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const input: EnvInput = { scheduler: {}, worker: {} };
  for (const [name, set] of Object.entries(envSettings)) {
    const value = env[name];
    if (value !== undefined && value !== '') set(input, value);
  }
  return resolveConfig({
    ...input,
    ...overrides,
    scheduler: { ...input.scheduler, ...overrides.scheduler },
    worker: { ...input.worker, ...overrides.worker },
  } as ConfigInput);
}
