/**
 * Whether the http task may call `url`, given the worker's allow-list (worker.httpAllow):
 * `*` (any host), `api.example.com` (that host, any port), `*.example.com` (its
 * subdomains, not the domain itself), `host:8080` (that host on that port only),
 * `[::1]` (an IPv6 literal). Any form may carry a port; `*:8080` is any host on 8080.
 */
export function hostAllowed(url: URL, patterns: readonly string[]): boolean {
  const host = canonicalHost(url.hostname);
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return patterns.some((pattern) => matches(parsePattern(pattern), host, port));
}

interface HostPattern {
  /** The whole host, or the domain under `*.`; undefined for `*`. */
  host: string | undefined;
  subdomains: boolean;
  /** The port in decimal, or undefined for any port. */
  port: string | undefined;
}

/** Null for a pattern config.ts would not have let through: it matches nothing. */
function parsePattern(pattern: string): HostPattern | null {
  const [, host, port] = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(pattern) ?? [];
  if (!host) return null;
  const subdomains = host.startsWith('*.');
  return {
    // The domain under `*.` is a name, never an address: only its case is normalised.
    host: host === '*' ? undefined : subdomains ? withoutTrailingDot(host.slice(2).toLowerCase()) : canonicalHost(host),
    subdomains,
    port: port === undefined ? undefined : String(Number(port)),
  };
}

function matches(pattern: HostPattern | null, host: string, port: string): boolean {
  if (pattern === null) return false;
  if (pattern.port !== undefined && pattern.port !== port) return false;
  if (pattern.host === undefined) return true;
  return pattern.subdomains ? host.endsWith(`.${pattern.host}`) : host === pattern.host;
}

/**
 * A host as the URL parser spells it (lower case, IPv4 and IPv6 in their normal
 * form), so a pattern and a URL that name one host compare equal. A trailing dot
 * names the same host as none.
 */
function canonicalHost(host: string): string {
  let canonical: string;
  try {
    canonical = new URL(`http://${host}/`).hostname;
  } catch {
    canonical = host.toLowerCase();
  }
  return withoutTrailingDot(canonical);
}

function withoutTrailingDot(host: string): string {
  return host.endsWith('.') ? host.slice(0, -1) : host;
}
