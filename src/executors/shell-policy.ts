/**
 * The characters /bin/sh takes literally wherever they stand: no control, quoting, glob,
 * tilde, brace or expansion character. A wildcard of an allow-list pattern matches only
 * these, so what matched is what runs; a pattern that spells another character out
 * allows that one.
 */
const literal = 'A-Za-z0-9_@%+=:,.\\-';
/** `*`: within one word of one path segment. */
const oneSegment = `[${literal}]*`;
/** `**`: across words and paths (spaces and tabs), and single-quoted words, which the shell does not expand. */
const anyWords = `(?:[${literal}/ \\t]|'[^']*')*`;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** An allow-list pattern as a regular expression over a whole command line (see oneSegment, anyWords). */
export function commandPattern(pattern: string): RegExp {
  const source = pattern
    .split('**')
    .map((part) => part.split('*').map(escapeRegExp).join(oneSegment))
    .join(anyWords);
  return new RegExp(`^${source}$`);
}

/**
 * A command as the allow-list sees it: a string exactly as /bin/sh will get it (not
 * trimmed: a leading no-break space would make an absolute path relative); an argv
 * array with each word that is not plainly safe in single quotes, as Python's
 * shlex.quote writes it.
 */
export function commandLine(command: string | string[]): string {
  if (typeof command === 'string') return command;
  return command.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`)).join(' ');
}

/** An env allow-list entry as a test of a name: `NAME`, or `PREFIX_*`. */
export function envPattern(entry: string): (name: string) => boolean {
  return entry.endsWith('*') ? (name) => name.startsWith(entry.slice(0, -1)) : (name) => name === entry;
}

/**
 * Why a worker with this allow-list refuses the command, or null if it may run. An
 * empty allow-list allows every command and every variable. Under an allow-list a
 * payload sets only the variables the worker's env allow-list names: no list of
 * dangerous names (LD_PRELOAD, PERLLIB, BASH_FUNC_*%%, ...) can be complete.
 */
export function shellRefusal(
  command: string | string[],
  env: Record<string, string> | undefined,
  allow: readonly RegExp[],
  envAllow: ReadonlyArray<(name: string) => boolean>,
): string | null {
  if (allow.length === 0) return null;
  const line = commandLine(command);
  if (!allow.some((pattern) => pattern.test(line))) {
    return `the command ${JSON.stringify(line.slice(0, 200))} is not in this worker's shell allow-list; nothing was run`;
  }
  const refused = Object.keys(env ?? {}).filter((name) => !envAllow.some((allows) => allows(name)));
  if (refused.length > 0) {
    return (
      `payload.env: ${refused.map((name) => JSON.stringify(name)).join(', ')} not in this worker's shell env ` +
      'allow-list (--shell-env-allow); nothing was run'
    ).slice(0, 280);
  }
  return null;
}
