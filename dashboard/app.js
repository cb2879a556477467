// The dashboard's shell: who is signed in, the header, client-side routing (History API), the
// live feed, and which page fills <main>. Pages are functions (main, context) => { reload }.
import { ApiError, get, onSignedOut, request } from './api.js';
import { alertBox, h } from './dom.js';
import { LiveFeed } from './live.js';
import { clusterPage } from './pages/cluster.js';
import { runPage } from './pages/run.js';
import { runsPage } from './pages/runs.js';
import { schedulePage } from './pages/schedule.js';
import { newSchedulePage } from './pages/schedule-form.js';
import { schedulesPage } from './pages/schedules.js';
import { signInPage } from './pages/sign-in.js';
import { tasksPage } from './pages/tasks.js';

/**
 * What a page is given.
 * @typedef {object} PageContext
 * @property {{ token: string, role: 'admin' | 'reader' }} session
 * @property {boolean} admin whether actions are shown: a reader sees none
 * @property {string[]} params the parts of the path the route captured, decoded
 * @property {URLSearchParams} query
 * @property {AbortSignal} signal aborted when the page is left
 * @property {LiveFeed} live
 * @property {(path: string, options?: { replace?: boolean }) => void} navigate
 * @property {(message: string) => void} announce said by screen readers, politely
 */
/** @typedef {{ reload?: () => unknown }} Page */
/** @typedef {(main: HTMLElement, context: PageContext) => Promise<Page | void>} PageFunction */

/** @type {Array<[RegExp, PageFunction]>} */
const routes = [
  [/^\/$/, schedulesPage],
  [/^\/new$/, newSchedulePage],
  [/^\/schedules\/(.+)$/, schedulePage],
  [/^\/runs$/, runsPage],
  [/^\/runs\/(\d+)$/, runPage],
  [/^\/cluster$/, clusterPage],
  [/^\/tasks$/, tasksPage],
];

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const announcer = /** @type {HTMLElement} */ (document.getElementById('announcer'));
const connection = /** @type {HTMLElement} */ (document.getElementById('connection'));

/** @type {PageContext['session'] | null} */
let session = null;
/** @type {{ controller: AbortController, page: Page | undefined } | null} */
let current = null;

const connectionTexts = { connecting: 'Connecting…', live: 'Live', reconnecting: 'Reconnecting…' };
const live = new LiveFeed({
  onState(state) {
    if (connection.dataset.state === 'reconnecting' && state === 'live') announce('Live updates are back');
    if (state === 'reconnecting' && connection.dataset.state === 'live') announce('Live updates reconnecting');
    connection.dataset.state = state;
    connection.textContent = connectionTexts[state];
  },
  // Events may have been missed while the stream was down: what the page shows is reloaded.
  onReconnect: () => reloadPage(),
  // A session revoked or expired: the sign-in form, rather than a stream that never comes back.
  onRefused: () =>
    void get('/api/v1/session').catch(
      (error) => error instanceof ApiError && error.status === 401 && session && signedOut(),
    ),
});

/** @param {string} message */
function announce(message) {
  // Emptied first, so the same message twice is still said twice.
  announcer.textContent = '';
  setTimeout(() => (announcer.textContent = message), 50);
}

/**
 * @param {string} path
 * @param {{ replace?: boolean }} [options]
 */
function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void route({ focus: true });
}

/** Fills <main> with the page of the current URL. */
async function route({ focus = false } = {}) {
  current?.controller.abort();
  const controller = new AbortController();
  current = { controller, page: undefined };
  main.replaceChildren();
  // Busy until the page has its data: assistive technology waits, and so do tests and benches.
  main.setAttribute('aria-busy', 'true');
  if (!session) return showSignIn(controller.signal);
  if (location.pathname === '/login') {
    // Only a path of this site: a `next` of //elsewhere would leave it.
    const next = new URLSearchParams(location.search).get('next') ?? '';
    return navigate(/^\/(?![/\\])/.test(next) ? next : '/', { replace: true });
  }
  markCurrentLink();
  const [pattern, page] = routes.find(([regex]) => regex.test(location.pathname)) ?? [null, notFoundPage];
  const params = (pattern?.exec(location.pathname) ?? []).slice(1).map((part) => decodeURIComponent(part));
  const context = {
    session,
    admin: session.role === 'admin',
    params,
    query: new URLSearchParams(location.search),
    signal: controller.signal,
    live,
    navigate,
    announce,
  };
  try {
    const mounted = page(main, context);
    if (focus) main.querySelector('h1')?.focus();
    current.page = (await mounted) || undefined;
  } catch (error) {
    if (!controller.signal.aborted) showFailure(error);
  }
  if (!controller.signal.aborted) {
    document.title = `${main.querySelector('h1')?.textContent ?? 'pgbaton'} · pgbaton`;
    main.setAttribute('aria-busy', 'false');
  }
}

async function reloadPage() {
  const page = current?.page;
  try {
    await page?.reload?.();
  } catch (error) {
    if (current?.page === page) showFailure(error);
  }
}

/** @param {unknown} error */
function showFailure(error) {
  if (error instanceof DOMException && error.name === 'AbortError') return;
  if (error instanceof ApiError && error.status === 404) {
    main.replaceChildren(h('h1', { tabindex: -1 }, 'Not found'), h('p', null, error.message));
    return;
  }
  if (!main.querySelector('h1')) main.append(h('h1', { tabindex: -1 }, 'Something went wrong'));
  main.append(alertBox(error instanceof Error ? error.message : String(error)));
}

/** @type {PageFunction} */
async function notFoundPage(into) {
  into.append(h('h1', { tabindex: -1 }, 'Not found'), h('p', null, `Nothing is at ${location.pathname}.`));
}

/** Marks the header link of the section the URL is in: a schedule's page is under Schedules. */
function markCurrentLink() {
  const path = location.pathname;
  const section = path === '/new' || path.startsWith('/schedules/') ? '/' : `/${path.split('/')[1]}`;
  for (const anchor of document.querySelectorAll('#site-nav a')) {
    if (anchor.getAttribute('href') === section) anchor.setAttribute('aria-current', 'page');
    else anchor.removeAttribute('aria-current');
  }
}

/** @param {AbortSignal} signal */
function showSignIn(signal) {
  showHeader(false);
  if (location.pathname !== '/login') {
    const next = location.pathname === '/' ? '' : `?next=${encodeURIComponent(location.pathname + location.search)}`;
    history.replaceState(null, '', `/login${next}`);
  }
  signInPage(main, { signal, onSignedIn: () => void start({ focus: true }) });
  main.setAttribute('aria-busy', 'false');
  document.title = 'Sign in · pgbaton';
}

/** @param {boolean} signedIn */
function showHeader(signedIn) {
  for (const id of ['site-nav', 'session']) {
    /** @type {HTMLElement} */ (document.getElementById(id)).hidden = !signedIn;
  }
  const who = /** @type {HTMLElement} */ (document.getElementById('who'));
  who.textContent = session ? `${session.token} (${session.role})` : '';
}

async function signOut() {
  try {
    await request('POST', '/logout');
  } catch (error) {
    announce(`Sign out failed: ${error instanceof Error ? error.message : error}`);
    return;
  }
  signedOut();
  announce('Signed out');
}

function signedOut() {
  session = null;
  live.close();
  void route({ focus: true });
}

/**
 * Finds who is signed in, then shows the page the URL names (or the sign-in form). The page
 * as served says so (its body's data-token and data-role); otherwise the API is asked.
 */
async function start({ focus = false, fromPage = false } = {}) {
  const { token, role } = document.body.dataset;
  try {
    session =
      fromPage && token && (role === 'admin' || role === 'reader') ? { token, role } : await get('/api/v1/session');
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) {
      main.replaceChildren(h('h1', null, 'pgbaton'), alertBox(`The server did not answer: ${error}`));
      main.setAttribute('aria-busy', 'false');
      return;
    }
    session = null;
  }
  if (session) {
    showHeader(true);
    live.open();
  }
  await route({ focus });
}

/**
 * Plain left clicks on links of this site are routed here; new tabs, downloads, other origins,
 * in-page anchors and the API are left to the browser.
 * @param {MouseEvent} event
 */
function followLink(event) {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey)
    return;
  const anchor = /** @type {Element} */ (event.target).closest('a[href]');
  if (!(anchor instanceof HTMLAnchorElement) || anchor.target || anchor.hasAttribute('download')) return;
  const url = new URL(anchor.href);
  if (url.origin !== location.origin || (anchor.getAttribute('href') ?? '').startsWith('#')) return;
  if (/^\/(api|assets)\//.test(url.pathname)) return;
  event.preventDefault();
  if (url.pathname + url.search !== location.pathname + location.search) navigate(url.pathname + url.search);
}

document.addEventListener('click', followLink);
window.addEventListener('popstate', () => void route({ focus: true }));
document.getElementById('sign-out')?.addEventListener('click', () => void signOut());
// For the app's whole life: a signal nothing aborts.
live.on('resync', () => void reloadPage(), new AbortController().signal);
onSignedOut(() => session && signedOut());
void start({ fromPage: true });
