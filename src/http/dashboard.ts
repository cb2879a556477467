// The dashboard (DESIGN.md "Dashboard"): static pages of dashboard/, served as they ship (no
// build step), that read and change everything through the same API as any other client. A
// person signs in with a token: it is kept in an HttpOnly, SameSite=Strict cookie, and every
// change made with that cookie must also carry the CSRF header that only these pages can read.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';

import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';

import type { Pool } from '../db/pool.ts';
import { packageRoot } from '../db/sql-text.ts';
import type { Statements } from '../db/statements.ts';
import { csrfCookie, findCaller, sessionCookie } from './auth.ts';
import { HttpProblem } from './problem.ts';
import { Problem } from './schemas.ts';

/** The paths of the pages: each is index.html, which routes on the client. */
const pagePaths = ['/', '/new', '/runs', '/runs/:id', '/cluster', '/tasks', '/schedules/*', '/login'];
/** What the dashboard serves without a session: pages and assets (under this prefix) hold no data. */
export const dashboardPublicRoutes = [...pagePaths, '/logout'];
export const assetsPrefix = '/assets/';

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
  const indexHtml = await serveAssets(app);
  const page = (_request: FastifyRequest, reply: FastifyReply) =>
    reply.headers(securityHeaders).type('text/html; charset=utf-8').send(indexHtml);

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

/** The files of dashboard/ and the vendored script, under a path named after their content; index.html pointing at them. */
async function serveAssets(app: FastifyInstance): Promise<string> {
  const cronstrue = readFileSync(createRequire(import.meta.url).resolve('cronstrue/dist/cronstrue.min.js'), 'utf8');
  // Assets live under a path named after their content, so a browser may keep them for good:
  // other files (an upgrade, an edit) are other URLs. Their imports are relative, and follow.
  const assets = `${assetsPrefix}${assetVersion(cronstrue)}/`;
  const indexHtml = readFileSync(`${packageRoot}dashboard/index.html`, 'utf8').replaceAll(
    `"${assetsPrefix}`,
    `"${assets}`,
  );
  const forever = 'public, max-age=31536000, immutable';
  await app.register(fastifyStatic, {
    root: `${packageRoot}dashboard`,
    prefix: assets,
    index: false,
    cacheControl: false,
    setHeaders: (response) => response.header('x-content-type-options', 'nosniff').header('cache-control', forever),
  });
  app.get(`${assets}vendor/cronstrue.js`, { schema: { hide: true } }, (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', forever).send(cronstrue),
  );
  return indexHtml;
}

/** A short hash of every file of dashboard/ and of the vendored script: the assets' version. */
function assetVersion(vendored: string): string {
  const hash = createHash('sha256').update(vendored);
  const dir = `${packageRoot}dashboard/`;
  for (const file of readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort()) {
    if (statSync(dir + file).isFile()) hash.update(file).update(readFileSync(dir + file));
  }
  return hash.digest('hex').slice(0, 12);
}
