import { Command } from 'commander';

import { version } from '../version.ts';
import { registerApply } from './commands/apply.ts';
import { registerCancel } from './commands/cancel.ts';
import { registerDev } from './commands/dev.ts';
import { registerLogs } from './commands/logs.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerRun } from './commands/run.ts';
import { registerNodeCommands } from './commands/run-node.ts';
import { registerRuns } from './commands/runs.ts';
import { registerSchedule } from './commands/schedule.ts';
import { registerStatus } from './commands/status.ts';
import { registerTasks } from './commands/tasks.ts';
import { registerToken } from './commands/token.ts';

const program = new Command()
  .name('baton')
  .description('pgbaton: a Postgres-native job scheduler (schedules in SQL, fired through graphile-worker)')
  .version(version)
  .option('--database-url <url>', 'Postgres connection string (default: $DATABASE_URL)')
  .option('--schema <name>', "pgbaton's schema (default: $BATON_SCHEMA or baton)")
  .option('--log-level <level>', 'fatal, error, warn, info, debug or trace (default: $BATON_LOG_LEVEL or info)')
  .showHelpAfterError();

registerDev(program);
registerNodeCommands(program);
registerMigrate(program);
registerStatus(program);
registerRun(program);
registerLogs(program);
registerCancel(program);
registerRuns(program);
registerTasks(program);
registerSchedule(program);
registerToken(program);
registerApply(program);

await program.parseAsync();
