import type { Pool } from '../db/pool.ts';
import { runStatement, statement, type Statements } from '../db/statements.ts';

type Db = { pool: Pick<Pool, 'query'>; statements: Statements };

/** A token as `baton token ls` shows it: never the token, which only its creator saw. */
export interface TokenInfo {
  name: string;
  role: 'admin' | 'reader';
  created_by: string;
  created_at: Date;
  last_used_at: Date | null;
}

const create = statement<{ name: string; role: string }, { token: string }>('create_token', ['name', 'role']);
const revoke = statement<{ name: string }>('revoke_token', ['name']);
const list = statement<Record<string, never>, TokenInfo>('list_tokens', []);

/** A new token (<schema>.create_token): the only time it is seen. */
export async function createToken({ pool, statements }: Db, name: string, role: string): Promise<string> {
  return (await runStatement(pool, statements, create, { name, role }))[0]!.token;
}

export async function revokeToken({ pool, statements }: Db, name: string): Promise<void> {
  await runStatement(pool, statements, revoke, { name });
}

export function listTokens({ pool, statements }: Db): Promise<TokenInfo[]> {
  return runStatement(pool, statements, list, {});
}
