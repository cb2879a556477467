// `baton dev`, the README's first command, as a newcomer runs it: no DATABASE_URL, so it starts
// an embedded Postgres, migrates, runs scheduler and worker, fires the demo schedule and prints
// each run; Ctrl-C (SIGTERM here) stops it all, Postgres included.
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';

import getPort from 'get-port';

import { spawnBaton } from './helpers/baton-process.ts';
import { waitFor } from './helpers/wait.ts';

// Not a mkdtemp directory: as root the server runs as `postgres`, which could not enter it.
const dataDir = join(tmpdir(), `baton-dev-test-${process.pid}`);
after(() => rmSync(dataDir, { recursive: true, force: true }));

it('starts everything on an embedded Postgres, fires the demo, and stops on SIGTERM', { timeout: 60_000 }, async () => {
  const port = await getPort();
  const dev = spawnBaton(['dev', '--data-dir', dataDir, '--port', String(port), '--http-port', '0'], {
    DATABASE_URL: '',
  });
  try {
    const banner = await waitFor(
      'the banner',
      () => dev.output.find((line) => line.includes('pgbaton dev is running')),
      {
        timeoutMs: 30_000,
      },
    );
    assert.ok(banner);
    assert.ok(
      dev.output.some((line) => line.includes(`localhost:${port}/baton`)),
      dev.output.join('\n'),
    );
    const run = await waitFor(
      'a demo run, printed',
      () =>
        dev.output.find((line) => /run \d+ {2}demo {2}succeeded {2}hello from pgbaton at \d\d:\d\d:\d\d/.test(line)),
      { timeoutMs: 15_000 },
    );
    assert.ok(run);
    // The banner's curl line, as printed, lists the demo schedule.
    const curl = dev.output.find((line) => line.trim().startsWith('curl -H'))!;
    const [, token, url] = /Bearer (\S+)" (\S+)$/.exec(curl.trim())!;
    const answer = await fetch(url!, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(answer.status, 200, curl);
    const { items } = (await answer.json()) as { items: Array<{ name: string }> };
    assert.deepEqual(
      items.map((item) => item.name),
      ['demo'],
    );
    // The banner's dashboard link signs in: a session cookie, then the page and the API with it.
    const link = /dashboard {2}(\S+)/.exec(dev.output.find((line) => line.includes('dashboard  '))!)![1]!;
    const signedIn = await fetch(link, { redirect: 'manual' });
    assert.equal(signedIn.status, 303);
    assert.equal(signedIn.headers.get('location'), '/');
    const cookies = signedIn.headers.getSetCookie();
    assert.ok(
      cookies.some((c) => /^baton_session=.*; HttpOnly; SameSite=Strict/.test(c)),
      cookies.join('\n'),
    );
    const cookie = cookies.map((c) => c.split(';')[0]).join('; ');
    const session = await fetch(new URL('/api/v1/session', link), { headers: { cookie } });
    assert.deepEqual(await session.json(), { token: 'dev', role: 'admin' });
  } finally {
    assert.equal(await dev.stop('SIGTERM'), 0, dev.output.join('\n'));
  }
  // Its Postgres went with it.
  const refused = await new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });
  assert.ok(refused, `port ${port} still answers`);
});
