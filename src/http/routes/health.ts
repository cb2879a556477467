import type { FastifyInstance } from 'fastify';

import { isMigrated } from '../../db/migrate.ts';
import type { Pool } from '../../db/pool.ts';
import type { SqlSchemas } from '../../db/sql-text.ts';
import { problem } from '../problem.ts';

/** /healthz (the process answers) and /readyz (the database answers, its schema current): no token. */
export function healthRoutes(app: FastifyInstance, { pool, schemas }: { pool: Pool; schemas: SqlSchemas }) {
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    const ready = await isMigrated(pool, schemas).catch(() => false);
    if (ready) return { status: 'ready' };
    return reply
      .code(503)
      .type('application/problem+json')
      .send(problem(503, 'the database is not reachable, or its schema is not current (baton migrate)'));
  });
}
