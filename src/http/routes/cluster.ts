import type { FastifyInstance } from 'fastify';

import type { Pool } from '../../db/pool.ts';
import { runStatement, statement, type Statements } from '../../db/statements.ts';
import { Cluster, Problem, TaskList } from '../schemas.ts';

type Item = Record<string, unknown>;
const listTasks = statement<Record<string, never>, { item: Item }>('api_tasks', []);
const listNodes = statement<Record<string, never>, { item: Item & { is_leader: boolean } }>('api_cluster', []);
const leaderChanges = statement<Record<string, never>, { item: Item }>('api_leader_changes', []);

const errors = { 401: Problem };

/** /api/v1/tasks (the catalog) and /api/v1/cluster (the nodes, the leader, the last day's leader changes). */
export function clusterRoutes(app: FastifyInstance, { pool, statements }: { pool: Pool; statements: Statements }) {
  app.get('/api/v1/tasks', { schema: { response: { 200: TaskList, ...errors } } }, async () => ({
    tasks: (await runStatement(pool, statements, listTasks, {})).map((row) => row.item),
  }));

  app.get('/api/v1/cluster', { schema: { response: { 200: Cluster, ...errors } } }, async () => {
    const [nodes, changes] = await Promise.all([
      runStatement(pool, statements, listNodes, {}),
      runStatement(pool, statements, leaderChanges, {}),
    ]);
    const items = nodes.map((row) => row.item);
    return {
      leader: items.find((node) => node.is_leader) ?? null,
      nodes: items,
      leader_changes: changes.map((row) => row.item),
    };
  });
}
