import type { Command } from 'commander';

import { describeSquatter } from '../../leader/lock-watch.ts';
import type { ClusterStatus } from '../../nodes/status.repository.ts';
import { registerReport } from '../runtime.ts';
import { formatTable } from '../table.ts';

export function registerStatus(program: Command): void {
  registerReport(program, {
    name: 'status',
    description: 'the cluster: every live node and its role, which one leads, schedules and recent runs',
    what: 'the status',
    read: (baton) => baton.status(),
    format: formatStatus,
  });
}

function formatStatus({ nodes, schedules, runsLastHour, unservedTasks, lockSquatters }: ClusterStatus): string {
  const leader = nodes.find((node) => node.isLeader);
  const rows = nodes.map((node) => [
    node.isLeader ? '*' : ' ',
    node.id.slice(0, 8),
    node.roles.join('+'),
    `${node.host}:${node.pid}`,
    node.version,
    `${(node.heartbeatAgeMs / 1000).toFixed(1)}s ago`,
    node.tasks.join(','),
  ]);
  const table = formatTable(rows);
  const counts = (record: Record<string, number>) =>
    Object.entries(record)
      .map(([key, count]) => `${count} ${key}`)
      .join(', ') || 'none';
  return [
    `leader:    ${leader ? `${leader.id.slice(0, 8)} (${leader.host}:${leader.pid})` : 'none (no scheduler holds the lock)'}`,
    ...lockSquatters.map((squatter) => `SQUATTER:  ${describeSquatter(squatter)} (docs/security.md)`),
    `nodes:     ${nodes.length}`,
    ...table.map((line) => `  ${line}`),
    `schedules: ${counts(schedules)}`,
    `runs (1h): ${counts(runsLastHour)}`,
    ...unservedTasks.map(
      ({ task, schedules: scheduleCount, pendingRuns }) =>
        `waiting:   no live worker offers ${task} (schedules: ${scheduleCount}, pending runs: ${pendingRuns})`,
    ),
    '',
  ].join('\n');
}
