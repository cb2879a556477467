import { createHash } from 'node:crypto';

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

/**
 * Finds the caller of a request from its bearer token, or refuses it: 401 without a token or
 * with one the database does not know, 403 for a reader that asks to change something. Only
 * the token's SHA-256 is looked up (and stored): the secret is never compared, logged or kept.
 */
export async function authenticate(
  request: FastifyRequest,
  { pool, statements }: { pool: Pool; statements: Statements },
): Promise<Caller> {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
  if (!match) throw new HttpProblem(401, 'send a token: Authorization: Bearer <token> (baton token create)');
  const hash = createHash('sha256').update(match[1]!).digest('hex');
  const [token] = await runStatement(pool, statements, findToken, { hash });
  if (!token) throw new HttpProblem(401, 'the token is not known (revoked, or never created)');
  if (token.role !== 'admin' && !['GET', 'HEAD'].includes(request.method)) {
    throw new HttpProblem(403, `token "${token.name}" is a reader: only an admin token may change anything`);
  }
  return { token: token.name, role: token.role };
}
