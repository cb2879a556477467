import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';

import type { Pool, PoolClient } from '../../db/pool.ts';
import { runStatement, type Statement, statement, type Statements } from '../../db/statements.ts';
import {
  getRun,
  getSchedule,
  type Item,
  listSchedules,
  lockSchedule,
  setEnabled,
  throughDoor,
  triggerSchedule,
  unschedule,
} from '../../schedules/door-statements.ts';
import { HttpProblem } from '../problem.ts';
import {
  DetailQuery,
  NameParams,
  NewScheduleBody,
  Problem,
  PurgeQuery,
  RunItem,
  ScheduleBody,
  ScheduleDetail,
  SchedulePage,
  ScheduleQuery,
  TriggerBody,
} from '../schemas.ts';
import { fromCursor, toCursor } from './cursor.ts';

const putSchedule = statement<{ name: string; fields: Item }, { created: boolean; etag: string }>('api_put_schedule', [
  'name',
  'fields',
]);

const timing = ['cron', 'every', 'run_at'];
const errors = { 400: Problem, 401: Problem, 403: Problem, 404: Problem };

type Deps = { pool: Pool; statements: Statements };
type Run = <P, R extends Item>(db: Pick<Pool, 'query'>, stmt: Statement<P, R>, values: P) => Promise<R[]>;
interface WriteOptions {
  ifMatch?: string;
  createOnly?: boolean;
}
type Work<T> = (client: PoolClient) => Promise<T>;
/** What the routes share: statements, a schedule's answer, a write in one transaction. */
interface Routes {
  run: Run;
  pool: Pool;
  /** A write in one transaction that names its door, the caller's token, in the change history. */
  asCaller<T>(request: FastifyRequest, work: Work<T>): Promise<T>;
  /** The schedule as GET answers it, with its next `fires` fires (5 unless asked). */
  detail(name: string, reply: FastifyReply, fires?: number): Promise<FastifyReply>;
  write(
    name: string,
    change: (current: { etag: string; fields: Item } | undefined) => Item,
    request: FastifyRequest,
    reply: FastifyReply,
    options: WriteOptions,
  ): Promise<FastifyReply>;
}

/** /api/v1/schedules: list, read, create, upsert, change, delete, pause, resume, trigger. */
export function scheduleRoutes(app: FastifyInstance, { pool, statements }: Deps) {
  const run: Run = (db, stmt, values) => runStatement(db, statements, stmt, values);
  const detail = async (name: string, reply: FastifyReply, fires = 5) => {
    const [row] = await run(pool, getSchedule, { name, fires });
    if (!row) throw new HttpProblem(404, `schedule "${name}" does not exist`);
    return reply.header('etag', `"${row.etag}"`).send(row.item);
  };
  const asCaller = <T>(request: FastifyRequest, work: Work<T>) =>
    throughDoor({ pool, statements }, `api:${request.caller?.token ?? ''}`, work);
  const routes: Routes = {
    run,
    pool,
    asCaller,
    detail,
    async write(name, change, request, reply, { ifMatch, createOnly = false }) {
      const created = await asCaller(request, async (client) => {
        const [current] = await run(client, lockSchedule, { name });
        if (ifMatch !== undefined && (!current || !etagMatches(ifMatch, current.etag))) {
          throw new HttpProblem(412, `schedule "${name}" is not as If-Match says: read it again`);
        }
        if (createOnly && current) throw nameTaken(name);
        const [result] = await run(client, putSchedule, { name, fields: change(current) });
        // Created meanwhile by another request: this one updated it, and rolls back.
        if (createOnly && !result!.created) throw nameTaken(name);
        return result!.created;
      });
      reply.code(created ? 201 : 200);
      if (created) reply.header('location', `/api/v1/schedules/${encodeURIComponent(name)}`);
      return detail(name, reply);
    },
  };
  readRoutes(app, routes);
  writeRoutes(app, routes);
  actionRoutes(app, routes);
}

const nameTaken = (name: string) =>
  new HttpProblem(409, `schedule "${name}" exists`, [{ field: 'name', message: `"${name}" exists` }]);

function readRoutes(app: FastifyInstance, { run, pool, detail }: Routes) {
  app.get<{ Querystring: Static<typeof ScheduleQuery> }>(
    '/api/v1/schedules',
    { schema: { querystring: ScheduleQuery, response: { 200: SchedulePage, ...errors } } },
    async (request, reply) => {
      const { state, task, label, limit = 100, cursor } = request.query;
      const colon = label?.indexOf(':') ?? -1;
      const labels = label ? JSON.stringify({ [label.slice(0, colon)]: label.slice(colon + 1) }) : null;
      const rows = await run(pool, listSchedules, { state, task, labels, after: fromCursor(cursor), limit: limit + 1 });
      const items = rows.slice(0, limit);
      const nextCursor = rows.length > limit ? toCursor(items.at(-1)!.name) : null;
      // The items come as JSON text and go out as they came: parsing them only to serialize them
      // again took as long as building them (a page of 500).
      return reply
        .type('application/json; charset=utf-8')
        .send(`{"items":[${items.map((row) => row.item).join(',')}],"next_cursor":${JSON.stringify(nextCursor)}}`);
    },
  );
  app.get<{ Params: Static<typeof NameParams>; Querystring: Static<typeof DetailQuery> }>(
    '/api/v1/schedules/:name',
    { schema: { params: NameParams, querystring: DetailQuery, response: { 200: ScheduleDetail, ...errors } } },
    (request, reply) => detail(request.params.name, reply, request.query.fires),
  );
}

function writeRoutes(app: FastifyInstance, { write }: Routes) {
  const answers = { 200: ScheduleDetail, 201: ScheduleDetail, ...errors, 409: Problem, 412: Problem, 415: Problem };
  app.put<{ Params: Static<typeof NameParams>; Body: ScheduleBody }>(
    '/api/v1/schedules/:name',
    { schema: { params: NameParams, body: ScheduleBody, response: answers } },
    (request, reply) =>
      write(request.params.name, () => fieldsOf(request.body), request, reply, {
        ifMatch: request.headers['if-match'],
      }),
  );
  app.post<{ Body: NewScheduleBody }>(
    '/api/v1/schedules',
    { schema: { body: NewScheduleBody, response: answers } },
    (request, reply) => {
      const { name, ...body } = request.body;
      return write(name, () => fieldsOf(body), request, reply, { createOnly: true });
    },
  );
  app.patch<{ Params: Static<typeof NameParams>; Body: ScheduleBody }>(
    '/api/v1/schedules/:name',
    { schema: { params: NameParams, body: ScheduleBody, response: answers } },
    (request, reply) => {
      const { name } = request.params;
      const patched = (current: { fields: Item } | undefined) => {
        if (!current) throw new HttpProblem(404, `schedule "${name}" does not exist`);
        const patch = fieldsOf(request.body);
        // The timing is one choice: a new one replaces the old, whichever field held it.
        const newTiming = timing.some((field) => field in patch);
        const kept = Object.entries(current.fields).filter(([key]) => !(newTiming && timing.includes(key)));
        return { ...Object.fromEntries(kept), ...patch };
      };
      return write(name, patched, request, reply, { ifMatch: request.headers['if-match'] });
    },
  );
}

function actionRoutes(app: FastifyInstance, { run, pool, asCaller, detail }: Routes) {
  app.delete<{ Params: Static<typeof NameParams>; Querystring: Static<typeof PurgeQuery> }>(
    '/api/v1/schedules/:name',
    { schema: { params: NameParams, querystring: PurgeQuery, response: { 204: { type: 'null' }, ...errors } } },
    async (request, reply) => {
      const { name } = request.params;
      await asCaller(request, (client) => run(client, unschedule, { name, purge: request.query.purge ?? false }));
      return reply.code(204).send();
    },
  );
  for (const [action, enabled] of [
    ['pause', false],
    ['resume', true],
  ] as const) {
    app.post<{ Params: Static<typeof NameParams> }>(
      `/api/v1/schedules/:name/${action}`,
      { schema: { params: NameParams, response: { 200: ScheduleDetail, ...errors } } },
      async (request, reply) => {
        await asCaller(request, (client) => run(client, setEnabled, { name: request.params.name, enabled }));
        return detail(request.params.name, reply);
      },
    );
  }
  app.post<{ Params: Static<typeof NameParams>; Body: Static<typeof TriggerBody> }>(
    '/api/v1/schedules/:name/trigger',
    { schema: { params: NameParams, body: TriggerBody, response: { 202: RunItem, ...errors, 415: Problem } } },
    async (request, reply) => {
      const payload = request.body?.payload ?? null;
      const [{ id }] = (await run(pool, triggerSchedule, { name: request.params.name, payload })) as [{ id: string }];
      const [created] = await run(pool, getRun, { id });
      return reply.code(202).header('location', `/api/v1/runs/${id}`).send(created!.item);
    },
  );
}

/** The fields of a request body as put_schedule() takes them: `interval` becomes `every`. */
function fieldsOf({ interval, ...fields }: ScheduleBody): Item {
  if (!interval) return fields;
  if (fields.every !== undefined) {
    throw new HttpProblem(400, 'interval: give every or interval, not both', [
      { field: 'interval', message: 'give every or interval, not both' },
    ]);
  }
  const parts = Object.entries(interval).map(([unit, count]) => `${count} ${unit}`);
  return { ...fields, every: parts.length > 0 ? parts.join(' ') : null };
}

/** Whether an If-Match header names this entity tag (or any, with *). */
function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((tag) => ['*', `"${etag}"`, `W/"${etag}"`].includes(tag.trim()));
}
