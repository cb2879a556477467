import cookie from '@fastify/cookie';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';

import type { Logger } from '../core/logger.ts';
import type { Pool } from '../db/pool.ts';
import type { SqlSchemas } from '../db/sql-text.ts';
import type { Statements } from '../db/statements.ts';
import { version } from '../version.ts';
import { authenticate, type Caller } from './auth.ts';
import { dashboardPublicRoutes, dashboardRoutes } from './dashboard.ts';
import { assetsPrefix } from './dashboard-assets.ts';
import type { EventStream } from './event-stream.ts';
import type { Metrics } from './metrics.ts';
import { problem, problemOf } from './problem.ts';
import { clusterRoutes } from './routes/cluster.ts';
import { eventRoutes } from './routes/events.ts';
import { healthRoutes } from './routes/health.ts';
import { runRoutes } from './routes/runs.ts';
import { scheduleRoutes } from './routes/schedules.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the request acts for; unset on the public routes. */
    caller?: Caller;
  }
}

export interface HttpAppOptions {
  pool: Pool;
  statements: Statements;
  schemas: SqlSchemas;
  logger: Logger;
  stream: EventStream;
  metrics: Metrics;
  /** Whether /metrics answers without a token. */
  metricsPublic: boolean;
}

/**
 * The HTTP API: REST under /api/v1 (DESIGN.md "HTTP"), its OpenAPI 3.1 document made from the
 * same schemas that validate the requests, errors as problem+json naming the field; and the
 * dashboard at /, on the same API.
 */
export async function buildHttpApp({
  pool,
  statements,
  schemas,
  logger,
  stream,
  metrics,
  metricsPublic,
}: HttpAppOptions): Promise<FastifyInstance> {
  // What answers without a token (DESIGN.md "HTTP": liveness, readiness, the API's description).
  const publicRoutes = new Set([
    '/healthz',
    '/readyz',
    '/api/v1/openapi.json',
    ...dashboardPublicRoutes,
    ...(metricsPublic ? ['/metrics'] : []),
  ]);
  // pino's Logger, typed as Fastify's own logger so that the instance is Fastify's default type.
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // Requests are logged by the onResponse hook below, at debug: one line each, no headers.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    // A field the API does not know is refused, naming it, not dropped in silence.
    ajv: { customOptions: { removeAdditional: false } },
  });
  // Bodies are JSON: any other type is 415 (Fastify would read text/plain as a string).
  app.removeContentTypeParser('text/plain');
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'pgbaton', version, description: 'Schedules and runs of a pgbaton installation.' },
      components: { securitySchemes: { token: { type: 'http', scheme: 'bearer' } } },
      security: [{ token: [] }],
    },
  });

  await app.register(cookie);
  guard(app, { pool, statements, publicRoutes });

  healthRoutes(app, { pool, schemas });
  app.get('/api/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  scheduleRoutes(app, { pool, statements });
  runRoutes(app, { pool, statements });
  clusterRoutes(app, { pool, statements });
  eventRoutes(app, stream);
  await dashboardRoutes(app, { pool, statements });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  return app;
}

/** Every request's token checked (but the public routes'), logged at debug; every error a problem. */
function guard(
  app: FastifyInstance,
  { pool, statements, publicRoutes }: { pool: Pool; statements: Statements; publicRoutes: Set<string> },
): void {
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url ?? '';
    if (publicRoutes.has(route) || route.startsWith(assetsPrefix)) return;
    request.caller = await authenticate(request, { pool, statements });
  });
  app.addHook('onResponse', async (request, reply) => {
    // The token's name (never the token): who did what.
    const { method, routeOptions, caller } = request;
    request.log.debug(
      { method, route: routeOptions.url, status: reply.statusCode, ms: reply.elapsedTime, token: caller?.token },
      'http request',
    );
  });
  app.setErrorHandler(async (error, request, reply) => {
    const answer = problemOf(error);
    if (answer.status >= 500) request.log.error({ err: error, route: request.routeOptions.url }, 'http request failed');
    return reply.code(answer.status).type('application/problem+json').send(answer);
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .type('application/problem+json')
      .send(problem(404, `no route ${request.method} ${request.url}`)),
  );
}
