import type pg from 'pg';

/**
 * Everything Postgres knows about one schema, as comparable text: tables and their columns
 * (in order), constraints, indexes, triggers, functions, views, types, privileges, and the
 * rows of the tables an installation fills itself. Two installations that give the same
 * catalog behave the same.
 */
export async function schemaCatalog(client: pg.ClientBase, schema: string): Promise<Record<string, string[]>> {
  const parts: Record<string, string> = {
    columns: `select c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                || case when a.attnotnull then ' not null' else '' end
                || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
                || case when a.attgenerated <> '' then ' generated' else '' end
              from pg_attribute a join pg_class c on c.oid = a.attrelid
              left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
              where c.relnamespace = $1::regnamespace and c.relkind in ('r', 'v', 'c') and a.attnum > 0
                and not a.attisdropped
              order by c.relname, a.attnum`,
    constraints: `select conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                  from pg_constraint where connamespace = $1::regnamespace order by 1`,
    indexes: `select indexdef from pg_indexes where schemaname = $1 order by indexname`,
    triggers: `select pg_get_triggerdef(t.oid) from pg_trigger t join pg_class c on c.oid = t.tgrelid
               where c.relnamespace = $1::regnamespace and not t.tgisinternal order by 1`,
    functions: `select pg_get_functiondef(p.oid) || coalesce(array_to_string(p.proacl, ','), 'default acl')
                from pg_proc p where p.pronamespace = $1::regnamespace order by p.oid::regprocedure::text`,
    views: `select c.relname || ': ' || pg_get_viewdef(c.oid) from pg_class c
            where c.relnamespace = $1::regnamespace and c.relkind = 'v' order by 1`,
    relations: `select relname || ' ' || relkind::text || ' ' || coalesce(array_to_string(relacl, ','), 'default acl')
                from pg_class where relnamespace = $1::regnamespace order by 1`,
    rows: `select 'task ' || name || ': ' || coalesce(description, '') from ${schema}.tasks
           union all select 'zones: ' || count(*) || ' ' || md5(string_agg(name, ',' order by name))
           from ${schema}.time_zones
           order by 1`,
  };
  const catalog: Record<string, string[]> = {};
  for (const [name, text] of Object.entries(parts)) {
    const { rows } = await client.query<Record<string, string>>(text, text.includes('$1') ? [schema] : []);
    catalog[name] = rows.map((row) => Object.values(row)[0]!);
  }
  return catalog;
}
