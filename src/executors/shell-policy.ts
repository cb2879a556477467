/**
 * Characters with which /bin/sh runs another command, redirects, substitutes or
 * escapes. No wildcard of an allow-list pattern matches them: only a pattern that
 * spells one out allows it.
 */
const control = ';&|<>`$()\\\\\\n\\r';

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * An allow-list pattern as a regular expression over a whole command line:
 * `**` matches any characters but shell control characters; `*` matches within one
 * word of one path segment (no whitespace, no `/`). Everything else is literal.
 */
export function commandPattern(pattern: string): RegExp {
  const source = pattern
    .split('**')
    .map((part) => part.split('*').map(escapeRegExp).join(`[^${control}/\\s]*`))
    .join(`[^${control}]*`);
  return new RegExp(`^${source}$`);
}

/**
 * A command as the allow-list sees it: a string as written; an argv array with
 * each word that is not plainly safe in single quotes, as Python's shlex.quote
 * writes it (so a word's spaces and control characters stay visible to patterns).
 */
export function commandLine(command: string | string[]): string {
  if (typeof command === 'string') return command.trim();
  return command.map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'"'"'`)}'`)).join(' ');
}

/** Variables that make a program load other code or find other programs: a payload may not set them under an allow-list. */
const hijackingVariable =
  /^(PATH|IFS|ENV|BASH_ENV|SHELLOPTS|BASHOPTS|PS4|NODE_OPTIONS|RUBYOPT|LD_.*|DYLD_.*|PYTHON.*|PERL5.*)$/;

/**
 * Why a worker with this allow-list refuses the command, or null if it may run. An
 * empty allow-list allows every command.
 */
export function shellRefusal(
  command: string | string[],
  env: Record<string, string> | undefined,
  allow: readonly RegExp[],
): string | null {
  if (allow.length === 0) return null;
  const line = commandLine(command);
  if (!allow.some((pattern) => pattern.test(line))) {
    return `the command ${JSON.stringify(line)} is not in this worker's shell allow-list; nothing was run`;
  }
  const hijacking = Object.keys(env ?? {}).filter((name) => hijackingVariable.test(name));
  if (hijacking.length > 0) {
    return `payload.env may not set ${hijacking.join(', ')} on a worker with a shell allow-list; nothing was run`;
  }
  return null;
}
