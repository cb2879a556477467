// How long the CLI takes to start: `baton --version`, `baton --help` and `baton status`
// (against a migrated database) beside `node -e 0`, each a whole process, 2 warm-up runs
// then 10 timed, side by side in one run. Uses $DATABASE_URL's server, else an embedded one.
// Writes the `cli:<server>` section of docs/benchmarks.md.
import { spawnSync } from 'node:child_process';

import { createDatabase, fig, migrateByCli, runBench, startEmbedded, stats, under, writeServerSection } from './lib.ts';

const warmUps = 2;
const runs = 10;

/** Wall-clock milliseconds of each of `runs` whole runs of the command, after the warm-ups. */
function timesOf(args: readonly string[]): number[] {
  const times: number[] = [];
  for (let i = 0; i < warmUps + runs; i++) {
    const start = performance.now();
    const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = performance.now() - start;
    if (result.status !== 0) throw new Error(`node ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    if (i >= warmUps) times.push(ms);
  }
  return times;
}

await runBench(async () => {
  const server = process.env.DATABASE_URL || (await startEmbedded());
  const url = await createDatabase(server, `baton_cli_${process.pid}`);
  await migrateByCli(url);
  const commands: Array<[string, string[]]> = [
    ['node -e 0', ['-e', '0']],
    ['baton --version', ['bin/baton.js', '--version']],
    ['baton --help', ['bin/baton.js', '--help']],
    ['baton status', ['bin/baton.js', 'status', '--database-url', url]],
  ];
  const rows = commands.map(([name, args]) => {
    const times = timesOf(args);
    const { p50, max } = stats(times);
    console.log(`${name}: median ${p50.toFixed(1)} ms`);
    return { name, p50, min: Math.min(...times), max };
  });
  const medianOf = (name: string) => rows.find((row) => row.name === name)!.p50;
  const how = `median of ${runs} whole runs after ${warmUps} warm-up, spawnSync wall time`;
  const figures = [
    ...rows.map(({ name, p50, min, max }) =>
      fig(
        name,
        p50,
        ' ms',
        `${how}; min ${min.toFixed(1)}, max ${max.toFixed(1)}`,
        name === 'baton status' ? under(500) : undefined,
      ),
    ),
    fig(
      'baton --version − node -e 0',
      medianOf('baton --version') - medianOf('node -e 0'),
      ' ms',
      'the medians above',
      under(100),
    ),
    fig('baton --help − node -e 0', medianOf('baton --help') - medianOf('node -e 0'), ' ms', 'the medians above'),
  ];
  writeServerSection({ family: 'cli', title: 'CLI start', script: 'bench:cli', server, figures });
});
