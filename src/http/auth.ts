import { createHash, timingSafeEqual } from 'node:crypto';

import type { FastifyRequest } from 'fastify';

import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';
import { HttpProblem } from './problem.ts';

export type TokenRole = 'admin' | 'reader';

/** Who a request acts for: the name and role of its token. */
export interface Caller {
  token: string;
  role: TokenRole;
}

const findToken = statement<{ hash: string }, { name: string; role: TokenRole }>('find_token', ['hash']);

/** The cookies of a dashboard session (src/http/dashboard.ts). */
export const sessionCookie = 'baton_session';
export const csrfCookie = 'baton_csrf';
export const csrfHeader = 'x-baton-csrf';

/**
 * Finds the caller of a request from its bearer token, or from the dashboard's session
 * cookie, or refuses it: 401 without a token or with one the database does not know, 403 for
 * a reader that asks to change something, and 403 for a change sent with the cookie but
 * without the CSRF header that only the dashboard's own pages can read and send. Only the
 * token's SHA-256 is looked up (and stored): the secret is never compared, logged or kept.
 */
export async function authenticate(
  request: FastifyRequest,
  { pool, statements }: { pool: Pool; statements: Statements },
): Promise<Caller> {
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
  const cookie = bearer ? undefined : request.cookies[sessionCookie];
  const secret = bearer ?? cookie;
  if (!secret) throw new HttpProblem(401, 'send a token: Authorization: Bearer <token> (baton token create)');
  const token = await findCaller(secret, { pool, statements });
  if (!token) throw new HttpProblem(401, 'the token is not known (revoked, or never created)');
  const changes = !['GET', 'HEAD'].includes(request.method);
  if (token.role !== 'admin' && changes) {
    throw new HttpProblem(403, `token "${token.token}" is a reader: only an admin token may change anything`);
  }
  if (cookie && changes) {
    const sent = request.headers[csrfHeader];
    const expected = request.cookies[csrfCookie];
    if (!expected || typeof sent !== 'string' || !safeEqual(sent, expected)) {
      throw new HttpProblem(
        403,
        `a change made with the session cookie needs the ${csrfHeader} header: reload the page`,
      );
    }
  }
  return token;
}

/** The caller a token stands for, or undefined when no token has its hash. */
export async function findCaller(
  secret: string,
  { pool, statements }: { pool: Pool; statements: Statements },
): Promise<Caller | undefined> {
  const hash = createHash('sha256').update(secret).digest('hex');
  const [token] = await runStatement(pool, statements, findToken, { hash });
  return token && { token: token.name, role: token.role };
}

function safeEqual(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
