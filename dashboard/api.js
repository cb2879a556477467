// The REST API (docs/http.md), as the signed-in person: the session cookie authenticates, and
// every change carries the CSRF header that only a page of this origin can read.

/**
 * @typedef {{ type: string, title: string, status: number, detail: string,
 *   errors?: Array<{ field: string, message: string }> }} Problem
 */

/** An answer other than success: its status and problem (application/problem+json). */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {Problem} problem
   */
  constructor(status, problem) {
    super(problem.detail || problem.title);
    this.status = status;
    this.problem = problem;
  }
}

/** @type {() => void} */
let whenSignedOut = () => {};

/**
 * What to do when the API says the session is gone (401): the app shows the sign-in form.
 * @param {() => void} handler
 */
export function onSignedOut(handler) {
  whenSignedOut = handler;
}

function csrfToken() {
  const cookie = document.cookie.split('; ').find((entry) => entry.startsWith('baton_csrf='));
  return cookie ? decodeURIComponent(cookie.slice('baton_csrf='.length)) : '';
}

/**
 * One request. Resolves with the parsed body (null when there is none) and the ETag; rejects
 * with an ApiError for any status but 2xx.
 * @param {string} method
 * @param {string} path
 * @param {{ body?: unknown, headers?: Record<string, string>, signal?: AbortSignal }} [options]
 * @returns {Promise<{ data: any, etag: string | null, status: number }>}
 */
export async function request(method, path, { body, headers = {}, signal } = {}) {
  // A POST without a body still sends {}: the API reads every POST body as JSON.
  const json = body ?? (method === 'POST' ? {} : undefined);
  const payload = json === undefined ? undefined : JSON.stringify(json);
  /** @type {Record<string, string>} */
  const sent = { accept: 'application/json', ...headers };
  if (method !== 'GET') sent['x-baton-csrf'] = csrfToken();
  if (payload !== undefined) sent['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers: sent, body: payload, signal, credentials: 'same-origin' });
  const text = await response.text();
  const data = text ? parseJson(text, response) : null;
  if (!response.ok) {
    const problem = data && typeof data === 'object' ? data : { title: response.statusText, detail: text };
    if (response.status === 401 && !path.startsWith('/login') && path !== '/api/v1/session') whenSignedOut();
    throw new ApiError(response.status, { type: 'about:blank', status: response.status, ...problem });
  }
  return { data, etag: response.headers.get('etag'), status: response.status };
}

/**
 * @param {string} text
 * @param {Response} response
 */
function parseJson(text, response) {
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(response.status, {
      type: 'about:blank',
      title: 'Unreadable answer',
      status: response.status,
      detail: `the server answered ${response.status} with a body that is not JSON`,
    });
  }
}

/**
 * GET a resource's body.
 * @param {string} path
 * @param {AbortSignal} [signal]
 */
export const get = async (path, signal) => (await request('GET', path, { signal })).data;

/**
 * Every item of a paged list, following next_cursor until it is null.
 * @param {string} path a list path, with its query
 * @param {AbortSignal} [signal]
 * @param {string | null} [after] the cursor to start after (a page already read)
 */
export async function getAll(path, signal, after = null) {
  const items = [];
  let cursor = after;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page = await get(cursor ? `${path}${separator}cursor=${encodeURIComponent(cursor)}` : path, signal);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

/** The API path of a schedule. */
export const scheduleUrl = (/** @type {string} */ name) => `/api/v1/schedules/${encodeURIComponent(name)}`;
