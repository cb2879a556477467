import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decideMisfires } from '../../src/planner/policies.ts';

describe('decideMisfires', () => {
  const now = 100_000;
  const grace = 1_000;
  const lateBy = (at: number) => now - at;
  const late = [90_000, 95_000];
  const onTime = [99_500];

  it('fires everything on time, whatever the policy', () => {
    for (const policy of ['skip', 'latest', 'all'] as const) {
      assert.deepEqual(decideMisfires(policy, onTime, lateBy, grace), { fire: onTime, missed: [] });
    }
  });

  it('skip records every late instant as missed', () => {
    assert.deepEqual(decideMisfires('skip', [...late, ...onTime], lateBy, grace), { fire: onTime, missed: late });
  });

  it('latest runs only the newest late instant when nothing is on time', () => {
    assert.deepEqual(decideMisfires('latest', late, lateBy, grace), { fire: [95_000], missed: [90_000] });
  });

  it('latest does not run a late instant when a newer one is on time', () => {
    assert.deepEqual(decideMisfires('latest', [...late, ...onTime], lateBy, grace), { fire: onTime, missed: late });
  });

  it('latest runs none of a batch that more late instants follow', () => {
    assert.deepEqual(decideMisfires('latest', late, lateBy, grace, true), { fire: [], missed: late });
  });

  it('all runs every instant, oldest first', () => {
    assert.deepEqual(decideMisfires('all', [...late, ...onTime], lateBy, grace), {
      fire: [...late, ...onTime],
      missed: [],
    });
  });
});
