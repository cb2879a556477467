import type { Pool } from '../db/pool.ts';
import { quoteIdent } from '../db/sql-text.ts';

type Db = Pick<Pool, 'query'>;

/** A token as `baton token ls` shows it: never the token, which only its creator saw. */
export interface TokenInfo {
  name: string;
  role: 'admin' | 'reader';
  created_by: string;
  created_at: Date;
  last_used_at: Date | null;
}

/** A new token (<schema>.create_token): the only time it is seen. */
export async function createToken(db: Db, schema: string, name: string, role: string): Promise<string> {
  const { rows } = await db.query<{ token: string }>(`select ${quoteIdent(schema)}.create_token($1, $2) as token`, [
    name,
    role,
  ]);
  return rows[0]!.token;
}

export async function revokeToken(db: Db, schema: string, name: string): Promise<void> {
  await db.query(`select ${quoteIdent(schema)}.revoke_token($1)`, [name]);
}

export async function listTokens(db: Db, schema: string): Promise<TokenInfo[]> {
  const { rows } = await db.query<TokenInfo>(
    `select name, role, created_by, created_at, last_used_at from ${quoteIdent(schema)}.tokens order by name`,
  );
  return rows;
}
