import { readPackageFile } from './db/sql-text.ts';

/** pgbaton's version, from package.json. */
export const version: string = (JSON.parse(readPackageFile('package.json')) as { version: string }).version;
