import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate } from 'node:timers/promises';

import { ActiveRuns } from '../../src/executors/active-runs.ts';
import { RunAbortedError } from '../../src/executors/executor.ts';

describe('ActiveRuns', () => {
  it('aborts every run on the shutdown signal they share, with one listener however many runs', async () => {
    const runs = new ActiveRuns();
    const shutdown = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    const controllers = Array.from({ length: 20 }, (_, i) => {
      const controller = runs.register(String(i));
      runs.abortAllOn(shutdown.signal);
      return controller;
    });
    await setImmediate(); // warnings are emitted on a later tick
    process.off('warning', onWarning);
    shutdown.abort();
    assert.deepEqual(warnings, []);
    for (const controller of controllers) {
      assert.ok(controller.signal.reason instanceof RunAbortedError);
      assert.equal(controller.signal.reason.status, 'failed');
    }
    const late = runs.register('late');
    runs.abortAllOn(shutdown.signal);
    assert.equal(late.signal.aborted, true, 'a run that starts after the shutdown is aborted too');
  });

  it('cancels a run whose cancel arrived before it registered', () => {
    const runs = new ActiveRuns();
    runs.cancel('7');
    const controller = runs.register('7');
    assert.equal((controller.signal.reason as RunAbortedError).status, 'cancelled');
  });
});
