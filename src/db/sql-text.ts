import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** Names of the installation that SQL text is written against. */
export interface SqlSchemas {
  schema: string;
  workerSchema: string;
}

export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Fills the :SCHEMA, :SCHEMA_LITERAL and :WORKER_SCHEMA placeholders of pgbaton's SQL files. */
export function bindSchemas(text: string, { schema, workerSchema }: SqlSchemas): string {
  return text.replace(/:(SCHEMA_LITERAL|WORKER_SCHEMA|SCHEMA)\b/g, (_, name: string) =>
    name === 'SCHEMA_LITERAL'
      ? `'${schema.replaceAll("'", "''")}'`
      : quoteIdent(name === 'SCHEMA' ? schema : workerSchema),
  );
}

/** A file of the package, as text (migrations/ and sql/ ship next to src/). */
export function readPackageFile(relativePath: string): string {
  return readFileSync(root + relativePath, 'utf8');
}

export const packageRoot = root;
