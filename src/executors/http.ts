import { errorMessage } from '../core/errors.ts';
import { refused, type TaskContext, type TaskDefinition, TaskFailedError } from './executor.ts';
import { hostAllowed } from './http-policy.ts';

export interface HttpSettings {
  /** Hosts the task may call, as patterns (see http-policy.ts). */
  httpAllow: readonly string[];
  /** Values a header may name as {"secret": "NAME"}; they never reach the database or the logs. */
  secrets: Readonly<Record<string, string>>;
}

const methods = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const maxRedirects = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
/** What goes with the body when a redirect turns the request into a GET (fetch's request-body headers). */
const bodyHeaders = ['content-type', 'content-encoding', 'content-language', 'content-location'];
/** What never follows a redirect to another origin, as in fetch; headers holding secrets join them. */
const credentialHeaders = ['authorization', 'cookie', 'proxy-authorization'];

interface HttpRequest {
  url: URL;
  method: string;
  headers: Headers;
  /** Names of the headers whose values are secrets. */
  secretHeaders: string[];
  body: string | undefined;
  /** Undefined: any 2xx. */
  expectStatus: readonly number[] | undefined;
  followRedirects: boolean;
}

/**
 * The `http` task: one request to a host on the worker's allow-list, redirects
 * followed by hand so that every hop's host is checked before anything is sent to
 * it. The response body streams into the run's stdout; the outcome keeps the
 * status, final URL and duration, never headers (they may carry cookies).
 */
export function httpTask(settings: HttpSettings): TaskDefinition {
  return {
    run: async (payload, context) => {
      const request = parsePayload(payload, settings.secrets);
      const started = performance.now();
      let { url, method, body } = request;
      for (let redirects = 0; ; redirects++) {
        if (!hostAllowed(url, settings.httpAllow)) {
          const allowed = settings.httpAllow.join(', ');
          throw refused(
            redirects === 0
              ? `host ${url.host} is not allowed by this worker (worker.httpAllow: ${allowed}); nothing was sent`
              : `redirected to host ${url.host}, which this worker does not allow (worker.httpAllow: ${allowed}); nothing was sent to it`,
          );
        }
        const response = await send(url, method, request.headers, body, context.signal);
        const location = response.headers.get('location');
        if (request.followRedirects && redirectStatuses.has(response.status) && location !== null) {
          // Only the Location matters; an error discarding the rest is no reason to fail the run.
          await response.body?.cancel().catch(() => undefined);
          if (redirects === maxRedirects) {
            throw new TaskFailedError(`gave up after ${maxRedirects} redirects, at ${method} ${url.href}`, {
              result: resultOf(response, url, started),
            });
          }
          const next = redirectTarget(location, url);
          const nextMethod = redirectedMethod(response.status, method);
          if (nextMethod !== method) {
            body = undefined;
            for (const name of bodyHeaders) request.headers.delete(name);
          }
          if (next.origin !== url.origin) {
            for (const name of [...credentialHeaders, ...request.secretHeaders]) request.headers.delete(name);
          }
          [url, method] = [next, nextMethod];
          continue;
        }
        await streamBody(response, context, method, url);
        const result = resultOf(response, url, started);
        const expected =
          request.expectStatus?.includes(response.status) ?? (response.status >= 200 && response.status < 300);
        if (!expected) {
          throw new TaskFailedError(
            `HTTP ${response.status} ${response.statusText} from ${method} ${url.href} (expected ${request.expectStatus?.join(', ') ?? '2xx'})`,
            { result },
          );
        }
        return { result };
      }
    },
  };
}

/** The payload was checked when the schedule or run was written; this guards the worker all the same. */
function parsePayload(payload: Record<string, unknown>, secrets: HttpSettings['secrets']): HttpRequest {
  const { url, method = 'GET', headers = {}, body, expect_status, follow_redirects = true } = payload;
  if (typeof url !== 'string') throw refused('payload.url must be an http:// or https:// URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw refused('payload.url is not a URL');
  }
  const problem = urlProblem(parsed);
  if (problem) throw refused(`payload.url ${problem}`);
  if (typeof method !== 'string' || !methods.includes(method.toUpperCase())) {
    throw refused(`payload.method must be one of ${methods.join(', ')}`);
  }
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw refused('payload.headers must be an object');
  }
  const request: HttpRequest = {
    url: parsed,
    method: method.toUpperCase(),
    headers: new Headers(),
    secretHeaders: [],
    // A JSON null is no body, as an absent one.
    body: body === undefined || body === null || typeof body === 'string' ? (body ?? undefined) : JSON.stringify(body),
    expectStatus: undefined,
    followRedirects: follow_redirects !== false,
  };
  for (const [name, value] of Object.entries(headers)) setHeader(request, name, value, secrets);
  if (request.body !== undefined && typeof body !== 'string' && !request.headers.has('content-type')) {
    request.headers.set('content-type', 'application/json');
  }
  if (request.body !== undefined && (request.method === 'GET' || request.method === 'HEAD')) {
    throw refused(`payload.body: a ${request.method} request carries no body`);
  }
  if (expect_status !== undefined) {
    if (!Array.isArray(expect_status) || !expect_status.every((code) => Number.isInteger(code))) {
      throw refused('payload.expect_status must be an array of status codes');
    }
    request.expectStatus = expect_status as number[];
  }
  return request;
}

/** Sets one header of the payload. No message here may carry a value: it may be a secret. */
function setHeader(request: HttpRequest, name: string, value: unknown, secrets: HttpSettings['secrets']): void {
  let text: string;
  if (typeof value === 'string') {
    text = value;
  } else {
    const secret = (value as { secret?: unknown } | null)?.secret;
    if (typeof secret !== 'string') throw refused(`payload.headers.${name} must be a string or {"secret": "NAME"}`);
    if (!Object.hasOwn(secrets, secret)) {
      throw refused(`payload.headers.${name}: the secret ${secret} is not set on this worker (BATON_SECRET_${secret})`);
    }
    text = secrets[secret]!;
    request.secretHeaders.push(name);
  }
  try {
    request.headers.set(name, text);
  } catch {
    // Headers' own message quotes the value.
    throw refused(`payload.headers.${name}: not a valid header name, or its value is not a valid header value`);
  }
}

/** Why the task will not send to `url`, if it will not. */
function urlProblem(url: URL): string | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `uses ${url.protocol}, not http: or https:`;
  // A URL is kept on the run and shown in messages; credentials belong in headers, from the worker's secrets.
  if (url.username || url.password) return "carries credentials (send them in headers, from the worker's secrets)";
  return undefined;
}

function redirectTarget(location: string, from: URL): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new TaskFailedError(`${from.href} redirected to "${location}", which is not a URL`);
  }
  const problem = urlProblem(next);
  if (problem) throw refused(`${from.href} redirected to a URL that ${problem}`);
  return next;
}

/** 303, and 301 or 302 after a POST, turn the request into a GET without a body, as browsers do. */
function redirectedMethod(status: number, method: string): string {
  if (status === 303 && method !== 'HEAD') return 'GET';
  if ((status === 301 || status === 302) && method === 'POST') return 'GET';
  return method;
}

async function send(url: URL, method: string, headers: Headers, body: string | undefined, signal: AbortSignal) {
  try {
    return await fetch(url, { method, headers, body, redirect: 'manual', signal });
  } catch (error) {
    throw networkFailure(error, method, url, signal);
  }
}

/** Into stdout as it arrives: the run keeps a capped tail, so a large body never sits in memory. */
async function streamBody(response: Response, context: TaskContext, method: string, url: URL): Promise<void> {
  if (!response.body) return;
  try {
    for await (const chunk of response.body as AsyncIterable<Uint8Array>) context.stdout.write(chunk);
  } catch (error) {
    throw networkFailure(error, method, url, context.signal);
  }
}

/**
 * A retryable failure naming what went wrong underneath ("fetch failed" says
 * nothing). After an abort the error is left as it is: the run's status comes
 * from the signal's reason.
 */
function networkFailure(error: unknown, method: string, url: URL, signal: AbortSignal): unknown {
  if (signal.aborted) return error;
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  // An AggregateError (every address of the host refused) has no message of its own, only a code.
  const { code } = cause as { code?: unknown };
  const detail = errorMessage(cause) || (typeof code === 'string' ? code : errorMessage(error));
  return new TaskFailedError(`${method} ${url.href} failed: ${detail}`);
}

/** What the run keeps of the response: no headers, since they may carry cookies. */
function resultOf(response: Response, url: URL, started: number) {
  return { status: response.status, url: url.href, durationMs: Math.round(performance.now() - started) };
}
