import { sql } from 'kysely';

import type { Db } from '../db/database.ts';

/** A task of the catalog: what some worker published, and which live workers offer it now. */
export interface CatalogTask {
  name: string;
  description: string | null;
  builtin: boolean;
  /** Live worker nodes that offer it; 0 means its runs wait. */
  liveWorkers: number;
  /** Those nodes, as host:pid. */
  offeredBy: string[];
  firstSeenAt: Date;
  lastSeenAt: Date;
}

export async function listTasks(db: Db, schema: string): Promise<CatalogTask[]> {
  const { rows } = await sql<CatalogTask>`
    select name, description, builtin, live_workers as "liveWorkers", offered_by as "offeredBy",
           first_seen_at as "firstSeenAt", last_seen_at as "lastSeenAt"
    from ${sql.id(schema, 'task_catalog')}
    order by name`.execute(db);
  return rows;
}
