// docs/http.md's tour, run as a reader would: `baton dev`, then the tour's commands in bash
// with curl, as written, the first line given the token and address this `baton dev` printed.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { promisify } from 'node:util';

import { type BatonProcess, spawnBaton } from './helpers/baton-process.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { waitFor } from './helpers/wait.ts';

const hasCurl = (() => {
  try {
    execFileSync('curl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The first ```sh block after the "A tour with curl" heading. */
function tour(): string[] {
  const doc = readFileSync(new URL('../docs/http.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## A tour with curl'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block.trimEnd().split('\n');
}

let db: TestDatabase;
let dev: BatonProcess;
before(async () => {
  db = await createTestDatabase({ empty: true });
  dev = spawnBaton(['dev', '--http-port', '0', '--no-demo'], { DATABASE_URL: db.url });
});
after(async () => {
  await dev?.stop();
  await db.drop();
});

it(
  'works as written against baton dev',
  { skip: !hasCurl && 'curl is not installed (.ci/system-packages installs it)' },
  async () => {
    const curl = await waitFor('the banner', () => dev.output.find((line) => line.trim().startsWith('curl -H')), {
      timeoutMs: 30_000,
    });
    const [, token, api] = /Bearer (\S+)" (http:\/\/[^/]+)/.exec(curl.trim())!;
    const lines = tour();
    assert.match(lines[0]!, /^export BATON=http:\/\/127\.0\.0\.1:8080 TOKEN=baton_\.\.\. /);
    const script = [`export BATON=${api} TOKEN=${token}`, ...lines.slice(1)].join('\n');
    const { stdout } = await promisify(execFile)('bash', ['-euo', 'pipefail', '-c', script]);
    // Each command printed its answer: health, the list, the upsert, ..., the refusal naming cron.
    assert.match(stdout, /^\{"status":"ok"\}/);
    assert.match(stdout, /"title":"Bad Request","status":400,.*"errors":\[\{"field":"cron"/);
    const rows = await db.query(`select name, enabled from baton.schedules order by name`);
    assert.deepEqual(rows, [{ name: 'report', enabled: true }]);
    const [run] = await db.query(`select status from baton.runs where schedule_name = 'report' and kind = 'manual'`);
    assert.ok(run, 'the tour triggered report');
  },
);
