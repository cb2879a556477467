// The dashboard (DESIGN.md "Dashboard"): a page and its script and stylesheet, built from
// dashboard/ by npm run build and shipped built (nothing is built at run time), that read and
// change everything through the same API as any other client. A person signs in with a token:
// it is kept in an HttpOnly, SameSite=Strict cookie, and every change made with that cookie
// must also carry the CSRF header that only these pages can read.
import { randomBytes } from 'node:crypto';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';

import type { Pool } from '../db/pool.ts';
import type { Statements } from '../db/statements.ts';
import { type Caller, csrfCookie, findCaller, sessionCookie } from './auth.ts';
import { builtDashboard, pageHtml } from './dashboard-assets.ts';
import { HttpProblem } from './problem.ts';
import { Problem } from './schemas.ts';

/** The paths of the pages: each is index.html, which routes on the client. */
const pagePaths = ['/', '/new', '/runs', '/runs/:id', '/cluster', '/tasks', '/schedules/*', '/login'];
/**
 * What a page asks for first, by its path: the server preloads it with the page for a visitor
 * signed in, so the data comes while the script does. The same URL as the page's script asks
 * for (dashboard/pages/schedules.js), else the browser fetches twice (test/dashboard.test.ts).
 */
const firstData: Record<string, string> = { '/': '/api/v1/schedules?limit=50' };
/** What the dashboard serves without a session: pages and assets (under /assets/) hold no data. */
export const dashboardPublicRoutes = [...pagePaths, '/logout'];

// The pages load only their own scripts and styles and talk only to this server.
const securityHeaders = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  // /login?token=... must not leak through a Referer.
  'referrer-policy': 'no-referrer',
};

const SessionBody = Type.Object({ token: Type.String({ minLength: 1 }) }, { additionalProperties: false });
const LoginQuery = Type.Object({ token: Type.Optional(Type.String()) }, { additionalProperties: false });
const Session = Type.Object({ token: Type.String(), role: Type.String() });

export async function dashboardRoutes(
  app: FastifyInstance,
  { pool, statements }: { pool: Pool; statements: Statements },
): Promise<void> {
  const html = builtDashboard(app);
  // The page says who is signed in (the app would otherwise ask before anything else): one
  // request less on every load. It names the token, never its secret, and is never cached.
  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const secret = request.cookies[sessionCookie];
    const caller: Caller | undefined = secret
      ? await findCaller(secret, { pool, statements }).catch(() => undefined)
      : undefined;
    return reply
      .headers(securityHeaders)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(pageHtml(html, caller, firstData[request.routeOptions.url ?? '']));
  };

  for (const path of pagePaths.filter((p) => p !== '/login')) app.get(path, { schema: { hide: true } }, page);

  /** Signs in: the token in the session cookie, a fresh CSRF value beside it. */
  const signIn = async (secret: string, request: FastifyRequest, reply: FastifyReply) => {
    if (!(await findCaller(secret, { pool, statements }))) {
      throw new HttpProblem(401, 'the token is not known (revoked, or never created)', [
        { field: 'token', message: 'is not known (revoked, or never created)' },
      ]);
    }
    const secure = request.protocol === 'https';
    reply.setCookie(sessionCookie, secret, { path: '/', httpOnly: true, sameSite: 'strict', secure });
    reply.setCookie(csrfCookie, randomBytes(24).toString('hex'), { path: '/', sameSite: 'strict', secure });
  };
  // A link that signs in (`baton dev` prints one, tests use it); without a token, the page's form.
  app.get<{ Querystring: { token?: string } }>(
    '/login',
    { schema: { hide: true, querystring: LoginQuery } },
    async (request, reply) => {
      if (request.query.token === undefined) return page(request, reply);
      await signIn(request.query.token, request, reply);
      return reply.headers(securityHeaders).redirect('/', 303);
    },
  );
  app.post<{ Body: { token: string } }>(
    '/login',
    { schema: { hide: true, body: SessionBody, response: { 401: Problem } } },
    async (request, reply) => {
      await signIn(request.body.token, request, reply);
      return reply.code(204).send();
    },
  );
  app.post('/logout', { schema: { hide: true } }, async (_request, reply) =>
    reply.clearCookie(sessionCookie, { path: '/' }).clearCookie(csrfCookie, { path: '/' }).code(204).send(),
  );
  app.get(
    '/api/v1/session',
    { schema: { description: 'who the request acts for', response: { 200: Session, 401: Problem } } },
    async (request) => request.caller,
  );
}
