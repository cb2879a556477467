// The schedules page (/): every schedule in one table, filtered here in the browser, kept live
// row by row from the event stream: no reload, and focus stays where it was.
import { ApiError, get, getAll, scheduleUrl } from '../api.js';
import { h, scrollingTable } from '../dom.js';
import { throttleByKey } from '../live.js';
import { scheduleRow, showOutcomes } from './schedule-row.js';

/** @typedef {import('./schedule-row.js').ScheduleItem} ScheduleItem */
/** @typedef {{ item: ScheduleItem, row: HTMLTableRowElement }} Entry */

const states = ['active', 'paused', 'ended', 'done', 'manual', 'invalid'];
/** Events for one schedule within this time cost one request. */
const coalesceMs = 250;
/** The key under which a reload of every schedule is throttled. */
const everything = '\u0000all';
/** Rows drawn whole at once: a screenful and more; the others when they near the viewport. */
const drawnFirst = 40;

/** Names in code-point order, here and for every row inserted later. */
const byName = (/** @type {string} */ a, /** @type {string} */ b) => (a < b ? -1 : a > b ? 1 : 0);

/** @type {import('../app.js').PageFunction} */
export async function schedulesPage(main, { admin, query, signal, live, announce }) {
  /** @type {Map<string, Entry>} */
  const entries = new Map();
  /** @type {string[]} the names of the rows, in table order */
  const names = [];
  /** Which schedule events to announce once their schedule is fetched. */
  const changed = new Set();
  /** Each name's last request: an older answer that arrives late is dropped. */
  const requests = new Map();
  const body = h('tbody');
  const summary = h('p', { class: 'muted', id: 'schedules-summary' });
  const filters = filterForm(query, () => applyFilters());
  /** Rows whose outcome marks are drawn (see showOutcomes). */
  const drawn = new WeakSet();
  const nearViewport = new IntersectionObserver(
    (seen) =>
      seen.forEach(({ target, isIntersecting }) => isIntersecting && draw(/** @type {HTMLTableRowElement} */ (target))),
    { rootMargin: '100% 0px' },
  );
  signal.addEventListener('abort', () => nearViewport.disconnect(), { once: true });

  /** @param {HTMLTableRowElement} row */
  function draw(row) {
    const entry = entries.get(row.dataset.schedule ?? '');
    if (drawn.has(row) || entry?.row !== row) return;
    drawn.add(row);
    nearViewport.unobserve(row);
    showOutcomes(row, entry.item);
  }

  /** @param {ScheduleItem} item */
  const matches = (item) => {
    const { state, task, label } = filters.values();
    if (state && item.state !== state) return false;
    if (task && item.task !== task) return false;
    if (!label) return true;
    const colon = label.indexOf(':');
    const key = colon < 0 ? label : label.slice(0, colon);
    const value = item.labels?.[key];
    return value !== undefined && (colon < 0 || String(value) === label.slice(colon + 1));
  };

  function applyFilters() {
    filters.offerTasks([...new Set([...entries.values()].map(({ item }) => item.task))]);
    let shown = 0;
    for (const { item, row } of entries.values()) {
      row.hidden = !matches(item);
      if (!row.hidden) shown += 1;
    }
    summary.textContent =
      entries.size === 0
        ? 'No schedules yet.'
        : `Showing ${shown.toLocaleString('en-US')} of ${entries.size.toLocaleString('en-US')} schedules.`;
  }

  /** @param {ScheduleItem[]} items */
  function showAll(items) {
    const fragment = document.createDocumentFragment();
    entries.clear();
    names.length = 0;
    for (const item of items.sort((a, b) => byName(a.name, b.name))) {
      const row = scheduleRow(item);
      entries.set(item.name, { item, row });
      names.push(item.name);
      fragment.append(row);
    }
    nearViewport.disconnect();
    body.replaceChildren(fragment);
    applyFilters();
    const rows = names.map((name) => /** @type {Entry} */ (entries.get(name)).row);
    rows
      .filter((row) => !row.hidden)
      .slice(0, drawnFirst)
      .forEach(draw);
    // Hidden rows too: a filter may show them later.
    for (const row of rows) if (!drawn.has(row)) nearViewport.observe(row);
  }

  /**
   * Puts a schedule's row in place: replaced where it was, or inserted in name order.
   * @param {ScheduleItem} item
   */
  function upsert(item) {
    for (const [name, entry] of entries) if (entry.item.id === item.id && name !== item.name) remove(name);
    const row = scheduleRow(item);
    const existing = entries.get(item.name);
    entries.set(item.name, { item, row });
    if (existing) {
      const focused = [...existing.row.querySelectorAll('a')].indexOf(/** @type {any} */ (document.activeElement));
      nearViewport.unobserve(existing.row);
      existing.row.replaceWith(row);
      if (drawn.has(existing.row)) draw(row);
      if (focused >= 0) row.querySelectorAll('a')[focused]?.focus();
    } else {
      const index = sortedIndex(names, item.name);
      names.splice(index, 0, item.name);
      body.insertBefore(row, entries.get(names[index + 1] ?? '')?.row ?? null);
    }
    if (!drawn.has(row)) nearViewport.observe(row);
  }

  /** @param {string} name */
  function remove(name) {
    const entry = entries.get(name);
    if (!entry) return;
    nearViewport.unobserve(entry.row);
    entry.row.remove();
    entries.delete(name);
    names.splice(names.indexOf(name), 1);
  }

  /** @param {string} name */
  async function refetch(name) {
    const request = (requests.get(name) ?? 0) + 1;
    requests.set(name, request);
    const existed = entries.has(name);
    let item = null;
    try {
      item = await get(scheduleUrl(name), signal);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    if (signal.aborted || requests.get(name) !== request) return;
    if (item) upsert(item);
    else remove(name);
    applyFilters();
    if (changed.delete(name) && (existed || item)) {
      announce(`Schedule ${name} ${!item ? 'removed' : existed ? 'changed' : 'added'}`);
    }
  }

  async function reload() {
    const items = await getAll('/api/v1/schedules?limit=500', signal);
    if (!signal.aborted) showAll(items);
  }

  const refresh = throttleByKey(
    (key) => void (key === everything ? reload() : refetch(key)).catch((error) => console.warn(error)),
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
  // A burst: an array of runs, or (over 100) only their count, when every schedule is fetched.
  live.on('runs', (data) => (Array.isArray(data) ? data.forEach(runChanged) : refresh(everything)), signal);

  main.append(
    h(
      'div',
      { class: 'page-head' },
      h('h1', { tabindex: -1 }, 'Schedules'),
      admin && h('a', { href: '/new', class: 'button primary' }, 'New schedule'),
    ),
    filters.form,
    summary,
    scrollingTable('Schedules', ['Name', 'When', 'Next fire', 'Last', 'Recent', 'State'], body),
  );
  await reload();
  return { reload };
}

/**
 * The index at which a name goes to keep the names sorted.
 * @param {string[]} sorted
 * @param {string} name
 */
function sortedIndex(sorted, name) {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (byName(/** @type {string} */ (sorted[middle]), name) < 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The filters, State, Task and Label (key:value), applied in the browser and kept in the URL.
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
  const label = /** @type {HTMLInputElement} */ (
    h('input', { id: 'filter-label', type: 'search', placeholder: 'key:value', autocomplete: 'off' })
  );
  state.value = query.get('state') ?? '';
  label.value = query.get('label') ?? '';
  let wantedTask = query.get('task') ?? '';
  let offered = '';

  const changed = () => {
    wantedTask = task.value;
    const search = new URLSearchParams(Object.entries(values()).filter(([, value]) => value)).toString();
    history.replaceState(null, '', search ? `/?${search}` : '/');
    onChange();
  };
  // The task asked for, even before the schedules that use it are loaded into the select.
  const values = () => ({ state: state.value, task: wantedTask, label: label.value.trim() });
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
    field('State', state),
    field('Task', task),
    field('Label', label),
  );
  state.addEventListener('change', changed);
  task.addEventListener('change', changed);
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
