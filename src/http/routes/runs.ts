import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';

import type { Pool } from '../../db/pool.ts';
import { runStatement, statement, type Statements } from '../../db/statements.ts';
import { getRun, type Item } from '../../schedules/door-statements.ts';
import { HttpProblem } from '../problem.ts';
import { IdParams, Problem, RunBody, RunItem, RunPage, RunQuery } from '../schemas.ts';

const listRuns = statement<
  { schedule?: string; status?: string; since?: string; until?: string; before?: string; limit: number },
  { item: Item; id: string }
>('api_list_runs', ['schedule', 'status', 'since', 'until', 'before', 'limit']);
const startRun = statement<{ task: string; payload: Item; options: Item }, { id: string }>('api_run', [
  'task',
  'payload',
  'options',
]);
const cancelRun = statement<{ id: string }, { item: Item }>('api_cancel', ['id']);

const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

/** /api/v1/runs: list (newest first), read with output tails, start an ad-hoc run, cancel. */
export function runRoutes(app: FastifyInstance, { pool, statements }: { pool: Pool; statements: Statements }) {
  const read = async (id: string) => {
    const [row] = await runStatement(pool, statements, getRun, { id });
    if (!row) throw new HttpProblem(404, `run ${id} does not exist`);
    return row.item;
  };

  app.get<{ Querystring: Static<typeof RunQuery> }>(
    '/api/v1/runs',
    { schema: { querystring: RunQuery, response: { 200: RunPage, ...errors } } },
    async (request) => {
      const { cursor, limit = 100, ...filters } = request.query;
      const rows = await runStatement(pool, statements, listRuns, { ...filters, before: cursor, limit: limit + 1 });
      const items = rows.slice(0, limit);
      return { items: items.map((row) => row.item), next_cursor: rows.length > limit ? items.at(-1)!.id : null };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/v1/runs/:id',
    { schema: { params: IdParams, response: { 200: RunItem, ...errors } } },
    (request) => read(request.params.id),
  );

  app.post<{ Body: Static<typeof RunBody> }>(
    '/api/v1/runs',
    { schema: { body: RunBody, response: { 202: RunItem, ...errors, 415: Problem } } },
    async (request, reply) => {
      const { task, payload = {}, ...options } = request.body;
      const [{ id }] = (await runStatement(pool, statements, startRun, { task, payload, options })) as [{ id: string }];
      return reply
        .code(202)
        .header('location', `/api/v1/runs/${id}`)
        .send(await read(id));
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/api/v1/runs/:id/cancel',
    { schema: { params: IdParams, response: { 202: RunItem, ...errors } } },
    async (request, reply) => {
      const [row] = await runStatement(pool, statements, cancelRun, { id: request.params.id });
      return reply.code(202).send(row!.item);
    },
  );
}
