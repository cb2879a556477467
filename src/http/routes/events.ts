import type { FastifyInstance } from 'fastify';

import type { EventStream } from '../event-stream.ts';
import { Problem } from '../schemas.ts';

/** /api/v1/events: the live stream (server-sent events), resumed from Last-Event-ID where it can be. */
export function eventRoutes(app: FastifyInstance, stream: EventStream) {
  app.get(
    '/api/v1/events',
    {
      schema: {
        response: {
          200: {
            description: 'server-sent events: schedule, run, runs, node, resync (docs/http.md)',
            content: { 'text/event-stream': { schema: { type: 'string' } } },
          },
          401: Problem,
        },
      },
    },
    (request, reply) => {
      reply.hijack();
      const lastEventId = request.headers['last-event-id'];
      stream.attach(reply.raw, typeof lastEventId === 'string' ? lastEventId : undefined);
    },
  );
}
