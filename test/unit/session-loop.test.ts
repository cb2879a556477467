import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';

import type pg from 'pg';

import { untilBrokenOrStopped } from '../../src/db/session-loop.ts';

describe('untilBrokenOrStopped', () => {
  it('leaves no listener on the owner signal once a session breaks (one per reconnect leaked before)', async () => {
    const owner = new AbortController();
    for (let reconnect = 0; reconnect < 20; reconnect++) {
      let breakSession!: (error: Error) => void;
      const broken = new Promise<Error>((resolve) => (breakSession = resolve));
      const waiting = untilBrokenOrStopped({ client: {} as pg.Client, broken, signal: owner.signal });
      breakSession(new Error(`connection ${reconnect} lost`));
      assert.equal((await waiting)?.message, `connection ${reconnect} lost`);
    }
    assert.equal(getEventListeners(owner.signal, 'abort').length, 0);
  });

  it('settles without a reason when the owner stops', async () => {
    const owner = new AbortController();
    const waiting = untilBrokenOrStopped({
      client: {} as pg.Client,
      broken: new Promise(() => {}),
      signal: owner.signal,
    });
    owner.abort();
    assert.equal(await waiting, undefined);
  });
});
