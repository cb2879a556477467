// The schedules page (/): every schedule in one table, filtered here in the browser, kept live
// row by row from the event stream: no reload, and focus stays where it was.
import { ApiError, get, getAll, scheduleUrl } from '../api.js';
import { h, scrollingTable } from '../dom.js';
import { throttleByKey } from '../live.js';
import { byName, rowsAtOnce, ScheduleTable } from './schedule-table.js';

/** @typedef {import('./schedule-row.js').ScheduleItem} ScheduleItem */
/** @typedef {{ name: string, state: string, task: string, label: string }} Filters */

const states = ['active', 'paused', 'ended', 'done', 'manual', 'invalid'];
/**
 * The first request: a screenful of schedules and more. The server preloads it with the page
 * (src/http/dashboard.ts, firstData): it must stay the same text.
 */
const firstPage = '/api/v1/schedules?limit=50';
/** Events for one schedule within this time cost one request. */
const coalesceMs = 250;
/** The key under which a reload of every schedule is throttled. */
const everything = '\u0000all';

/** @type {import('../app.js').PageFunction} */
export async function schedulesPage(main, { admin, query, signal, live, announce }) {
  const table = new ScheduleTable(signal);
  const summary = h('p', { class: 'muted', id: 'schedules-summary' });
  const more = h('button', { type: 'button', id: 'show-more', hidden: true });
  /** How many matching rows are shown: a change of filters starts again, "Show more" adds. */
  let atMost = rowsAtOnce;
  const filters = filterForm(query, () => {
    atMost = rowsAtOnce;
    applyFilters();
  });
  const applyFilters = () => {
    filters.offerTasks(table.tasks());
    const { matching, shown } = table.filter(matcher(filters.values()), atMost);
    summary.textContent = summaryText(shown, matching, table.size);
    more.hidden = shown >= matching;
    more.textContent = `Show ${count(Math.min(rowsAtOnce, matching - shown))} more`;
  };
  more.addEventListener('click', () => {
    atMost += rowsAtOnce;
    applyFilters();
  });
  const show = (/** @type {ScheduleItem[]} */ items) => {
    table.showAll(items, matcher(filters.values()), atMost);
    applyFilters();
  };
  // The first screenful first: the page is usable once its first rows are there; the rest
  // after them (asked for at the same time, they slowed the first rows more than they gained).
  const reload = async () => {
    const first = await get(firstPage, signal);
    if (signal.aborted) return;
    show(first.items);
    if (!first.next_cursor) return;
    getAll('/api/v1/schedules?limit=1000', signal, first.next_cursor)
      .then((rest) => signal.aborted || show([...first.items, ...rest]))
      .catch((error) => {
        if (!signal.aborted) summary.textContent = `Could not read every schedule: ${error.message}`;
      });
  };
  const refetch = refetcher(table, signal);
  followEvents({ live, signal, announce, reload, refetch: (name) => refetch(name).finally(applyFilters) });

  main.append(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Schedules'),
      admin && h('a', { href: '/new', class: 'button primary' }, 'New schedule'),
    ),
    filters.form,
    summary,
    scrollingTable('Schedules', ['Name', 'When', 'Next fire', 'Last', 'Recent', 'State'], table.body),
    h('div', { class: 'actions' }, more),
  );
  await reload();
  return { reload };
}

const count = (/** @type {number} */ n) => n.toLocaleString('en-US');

/**
 * "Showing 100 of 1,000 schedules.", "Showing 3 of 3 matching (1,000 in all) schedules."
 * @param {number} shown
 * @param {number} matching
 * @param {number} all
 */
function summaryText(shown, matching, all) {
  if (all === 0) return 'No schedules yet.';
  return `Showing ${count(shown)} of ${matching < all ? `${count(matching)} matching (${count(all)} in all)` : count(all)} schedules.`;
}

/**
 * Whether a schedule passes the filters; Label is a key (present) or key:value.
 * @param {Filters} filters
 * @returns {import('./schedule-table.js').Matcher}
 */
function matcher({ name, state, task, label }) {
  const colon = label.indexOf(':');
  const key = colon < 0 ? label : label.slice(0, colon);
  const part = name.toLowerCase();
  return (item) => {
    if ((state && item.state !== state) || (task && item.task !== task)) return false;
    if (part && !item.name.toLowerCase().includes(part)) return false;
    if (!label) return true;
    const value = item.labels?.[key];
    return value !== undefined && (colon < 0 || String(value) === label.slice(colon + 1));
  };
}

/**
 * Reads one schedule again and puts its row in place, or takes it out (404: deleted). Says
 * what happened to it: 'added', 'changed', 'removed', or null (nothing to show). An answer
 * older than the last asked for the same name is dropped.
 * @param {ScheduleTable} table
 * @param {AbortSignal} signal
 */
function refetcher(table, signal) {
  /** @type {Map<string, number>} */
  const latest = new Map();
  return async (/** @type {string} */ name) => {
    const request = (latest.get(name) ?? 0) + 1;
    latest.set(name, request);
    const existed = table.has(name);
    let item = null;
    try {
      item = await get(scheduleUrl(name), signal);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    if (signal.aborted || latest.get(name) !== request) return null;
    if (item) table.upsert(item);
    else table.remove(name);
    return item ? (existed ? 'changed' : 'added') : existed ? 'removed' : null;
  };
}

/**
 * The events that change the table: a schedule's (its row read again, announced), a run's (its
 * schedule's row read again: last status, outcomes), a burst or a resync (every row). Bursts
 * cost one request per schedule per coalesceMs.
 * @param {{ live: import('../live.js').LiveFeed, signal: AbortSignal, announce: (message: string) => void,
 *   reload: () => Promise<void>, refetch: (name: string) => Promise<string | null> }} options
 */
function followEvents({ live, signal, announce, reload, refetch }) {
  /** Schedules whose change is announced once their row is in place. */
  const changed = new Set();
  const refresh = throttleByKey(
    (key) => {
      const work =
        key === everything
          ? reload()
          : refetch(key).then((change) => change && changed.delete(key) && announce(`Schedule ${key} ${change}`));
      work.catch((error) => console.warn(error));
    },
    coalesceMs,
    signal,
  );
  live.on(
    'schedule',
    (/** @type {{ op: string, name?: string }} */ event) => {
      if (event.op === 'resync' || !event.name) return refresh(everything);
      changed.add(event.name);
      refresh(event.name);
    },
    signal,
  );
  // A run's output growing changes nothing this page shows.
  /** @param {{ schedule?: string | null, change?: string }} run */
  const runChanged = (run) => run.schedule && run.change !== 'output' && refresh(run.schedule);
  live.on('run', runChanged, signal);
  // A burst: an array of runs, or (over 100) only their count, when every schedule is read.
  live.on('runs', (data) => (Array.isArray(data) ? data.forEach(runChanged) : refresh(everything)), signal);
}

/** A text box of the filters. */
const searchBox = (/** @type {string} */ id, /** @type {string} */ placeholder, /** @type {string} */ value) =>
  /** @type {HTMLInputElement} */ (h('input', { id, type: 'search', placeholder, autocomplete: 'off', value }));

/**
 * The filters, Name (a part of it), State, Task and Label (key:value), applied in the browser
 * and kept in the URL.
 * @param {URLSearchParams} query
 * @param {() => void} onChange
 */
function filterForm(query, onChange) {
  const state = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id: 'filter-state' },
      h('option', { value: '' }, 'Any'),
      states.map((value) => h('option', { value }, value)),
    )
  );
  const task = /** @type {HTMLSelectElement} */ (h('select', { id: 'filter-task' }, h('option', { value: '' }, 'Any')));
  const name = searchBox('filter-name', 'part of a name', query.get('name') ?? '');
  const label = searchBox('filter-label', 'key:value', query.get('label') ?? '');
  state.value = query.get('state') ?? '';
  let wantedTask = query.get('task') ?? '';
  let offered = '';

  const changed = () => {
    wantedTask = task.value;
    const search = new URLSearchParams(Object.entries(values()).filter(([, value]) => value)).toString();
    history.replaceState(null, '', search ? `/?${search}` : '/');
    onChange();
  };
  // The task asked for, even before the schedules that use it are loaded into the select.
  const values = () => ({ name: name.value.trim(), state: state.value, task: wantedTask, label: label.value.trim() });
  const field = (/** @type {string} */ text, /** @type {HTMLElement} */ control) =>
    h('div', { class: 'field' }, h('label', { for: control.id }, text), control);

  const form = h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter schedules',
      onsubmit: (/** @type {Event} */ event) => event.preventDefault(),
    },
    field('Name', name),
    field('State', state),
    field('Task', task),
    field('Label', label),
  );
  state.addEventListener('change', changed);
  task.addEventListener('change', changed);
  name.addEventListener('input', changed);
  label.addEventListener('input', changed);

  /**
   * Offers the tasks the schedules use (and the one the URL asks for), when they change.
   * @param {string[]} tasks
   */
  const offerTasks = (tasks) => {
    const all = [...new Set([...tasks, ...(wantedTask ? [wantedTask] : [])])].sort(byName);
    if (all.join('\n') === offered) return;
    offered = all.join('\n');
    task.replaceChildren(h('option', { value: '' }, 'Any'), ...all.map((value) => h('option', { value }, value)));
    task.value = wantedTask;
  };
  return { form, values, offerTasks };
}
