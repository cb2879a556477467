// What deploy/ and the Dockerfile promise an operator: units systemd accepts, that restart,
// stop with SIGTERM and wait long enough for a worker's grace; an image that runs as a user.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

import { loadConfig } from '../src/config/load-config.ts';

const unitDir = new URL('../deploy/systemd/', import.meta.url);
const units = readdirSync(unitDir).filter((file) => file.endsWith('.service'));
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;

/** A unit's `Key=value` settings (the last of each key). */
function settings(unit: string): Map<string, string> {
  const text = readFileSync(new URL(unit, unitDir), 'utf8');
  return new Map(
    text
      .split('\n')
      .filter((line) => /^[A-Za-z]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );
}

const seconds = (value: string) => Number(/^(\d+)s$/.exec(value)?.[1] ?? Number.NaN);

describe('deploy', () => {
  it('has units for the scheduler, the worker, the apply watcher and the HTTP API', () => {
    assert.deepEqual(units.sort(), [
      'pgbaton-apply.service',
      'pgbaton-http.service',
      'pgbaton-scheduler.service',
      'pgbaton-worker.service',
    ]);
  });

  it(
    'systemd-analyze verify accepts every unit without a word',
    { skip: !hasSystemdAnalyze && 'no systemd-analyze here' },
    () => {
      for (const unit of units) {
        const result = spawnSync('systemd-analyze', ['verify', new URL(unit, unitDir).pathname], { encoding: 'utf8' });
        assert.equal(result.status, 0, `${unit}: ${result.stderr}`);
        // verify exits 0 on an unknown key or a bad value, and says so on stderr.
        assert.equal(result.stderr, '', `${unit}: ${result.stderr}`);
      }
    },
  );

  it('each unit restarts, stops with SIGTERM, reads an EnvironmentFile, and waits out a worker’s grace', () => {
    const config = loadConfig({ databaseUrl: 'postgres://localhost/x' }, {});
    // graphile-worker's gracefulShutdownAbortTimeout (5 s), then a shell run's SIGTERM → SIGKILL grace.
    const workerGraceS = 5 + config.worker.killGraceMs / 1000;
    for (const unit of units) {
      const s = settings(unit);
      assert.equal(s.get('Restart'), 'always', unit);
      assert.equal(s.get('KillSignal'), 'SIGTERM', unit);
      assert.equal(s.get('KillMode'), 'mixed', `${unit}: SIGTERM to baton only; it stops its own children`);
      assert.equal(s.get('EnvironmentFile'), '/etc/pgbaton/pgbaton.env', unit);
      assert.equal(s.get('StartLimitIntervalSec'), '0', `${unit}: keeps restarting while Postgres is away`);
      assert.ok(seconds(s.get('TimeoutStopSec') ?? '') >= 10, unit);
      assert.notEqual(s.get('User') ?? 'root', 'root', unit);
    }
    assert.ok(seconds(settings('pgbaton-worker.service').get('TimeoutStopSec')!) >= workerGraceS + 10);
    assert.match(settings('pgbaton-apply.service').get('ExecStart')!, /baton apply --watch --prune --source /);
  });

  it('the Dockerfile installs runtime dependencies only and runs as a user, from files that exist', () => {
    const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');
    const runStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    assert.match(runStage, /RUN npm ci --omit=dev --ignore-scripts/);
    assert.match(runStage, /\nUSER node\n/);
    assert.match(runStage, /\nSTOPSIGNAL SIGTERM\n/);
    for (const [, from] of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const path of from!.split(' ')) assert.ok(existsSync(new URL(`../${path}`, import.meta.url)), path);
    }
    // The runtime stage's files are the package's: what npm ships is what the image runs.
    const packaged = JSON.parse(execFileSync('npm', ['pkg', 'get', 'files'], { encoding: 'utf8' })) as string[];
    const copied = [...runStage.matchAll(/^COPY (?:--from=build \/src\/)?(\S+) /gm)].map(([, path]) => path!);
    for (const path of copied.filter((p) => !p.startsWith('package'))) {
      assert.ok(packaged.includes(path), `${path} is in package.json "files"`);
    }
    // And the other way: what the package runs from is in the image.
    for (const path of packaged.filter((p) => !['README.md', 'LICENSE'].includes(p))) {
      assert.ok(copied.includes(path), `the image copies ${path}`);
    }
  });
});
