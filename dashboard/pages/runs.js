// The runs page (/runs): newest first, filtered by the server (the filters are in the URL),
// kept live from the event stream: rows change in place, new runs that match come in on top.
import { get } from '../api.js';
import { h, link, schedulePath, scrollingTable, statusBadge } from '../dom.js';
import { durationBetween, formatInZone, toDate } from '../format.js';
import { throttleByKey } from '../live.js';

/** @typedef {Record<string, any>} Run a run as GET /api/v1/runs lists it */

const runStatuses = ['pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'missed'];
const filterNames = ['schedule', 'status', 'since', 'until'];
/** The fields of a `run` event that are a run's own (`schedule` is its schedule_name). */
const eventFields = ['id', 'schedule_id', 'task', 'kind', 'status', 'attempt', 'fire_at', 'started_at', 'finished_at'];

/** @type {import('../app.js').PageFunction} */
export async function runsPage(main, { query, signal, live }) {
  /** @type {Map<number, { run: Run, row: HTMLTableRowElement }>} */
  const shown = new Map();
  /** @type {string | null} */
  let cursor = null;
  let applied = filterQuery(query);
  const body = h('tbody');
  const empty = h('p', { class: 'muted', hidden: true }, 'No runs match these filters.');
  const more = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', id: 'load-more', hidden: true, onclick: () => void loadMore() }, 'Load more')
  );
  const form = filterForm(query, (next) => {
    if (next.toString() === applied.toString()) return;
    applied = next;
    history.replaceState(null, '', `/runs${next.size > 0 ? `?${next}` : ''}`);
    void reload();
  });

  /** @param {string | null} after the cursor: runs before it */
  const fetchPage = (after) => {
    const search = new URLSearchParams(applied);
    search.set('limit', '100');
    if (after) search.set('cursor', after);
    return get(`/api/v1/runs?${search}`, signal);
  };

  /** @param {Run[]} runs */
  function append(runs) {
    const fragment = document.createDocumentFragment();
    for (const run of runs) {
      if (shown.has(run.id)) continue;
      const row = runRow(run);
      shown.set(run.id, { run, row });
      fragment.append(row);
    }
    body.append(fragment);
  }

  /** @param {{ items: Run[], next_cursor: string | null }} page */
  function showPage(page) {
    append(page.items);
    cursor = page.next_cursor;
    more.hidden = cursor === null;
    empty.hidden = shown.size > 0;
  }

  async function reload() {
    const page = await fetchPage(null);
    if (signal.aborted) return;
    shown.clear();
    body.replaceChildren();
    showPage(page);
  }

  async function loadMore() {
    const page = await fetchPage(cursor);
    if (!signal.aborted) showPage(page);
  }

  /**
   * A run's change from the stream: its row updated in place; a run not shown that matches the
   * filters inserted where its id puts it (unless it belongs to a page not loaded yet).
   * @param {Run} event
   */
  function runChanged(event) {
    // Output is not shown here.
    if (event.change === 'output') return;
    const entry = shown.get(event.id);
    const run = { ...entry?.run, ...fromEvent(event) };
    if (entry) {
      const row = runRow(run);
      entry.row.replaceWith(row);
      shown.set(run.id, { run, row });
      return;
    }
    if (!matches(run, applied)) return;
    // Rows are newest (highest id) first: it goes before the first older one.
    const next = [...body.children].find((row) => Number(/** @type {HTMLElement} */ (row).dataset.runId) < run.id);
    if (!next && cursor !== null) return;
    const row = runRow(run);
    body.insertBefore(row, next ?? null);
    shown.set(run.id, { run, row });
    empty.hidden = true;
  }

  const reloadSoon = throttleByKey(() => void reload().catch((error) => console.warn(error)), 500, signal);
  live.on('run', runChanged, signal);
  // A burst over 100 runs comes as a count only: the first page is read again.
  live.on('runs', (data) => (Array.isArray(data) ? data.forEach(runChanged) : reloadSoon('runs')), signal);

  main.append(
    h('h1', { tabindex: -1 }, 'Runs'),
    form,
    empty,
    scrollingTable('Runs', ['Run', 'Schedule', 'Status', 'Fire at', 'Started', 'Duration', 'Attempt'], body),
    h('div', { class: 'actions' }, more),
  );
  await reload();
  return { reload };
}

/**
 * The filters of a URL query, as the API takes them.
 * @param {URLSearchParams} query
 */
function filterQuery(query) {
  return new URLSearchParams(filterNames.flatMap((name) => (query.get(name) ? [[name, query.get(name) ?? '']] : [])));
}

/**
 * The fields of a `run` event, with the names of a listed run.
 * @param {Run} event
 */
function fromEvent(event) {
  /** @type {Run} */
  const run = {};
  for (const field of eventFields) if (event[field] !== undefined) run[field] = event[field];
  if (event.schedule !== undefined) run.schedule_name = event.schedule;
  return run;
}

/**
 * @param {Run} run
 * @param {URLSearchParams} filters
 */
function matches(run, filters) {
  const fireAt = toDate(run.fire_at)?.getTime() ?? 0;
  const since = toDate(filters.get('since'))?.getTime();
  const until = toDate(filters.get('until'))?.getTime();
  if (filters.get('schedule') && run.schedule_name !== filters.get('schedule')) return false;
  if (filters.get('status') && run.status !== filters.get('status')) return false;
  return !(since !== undefined && fireAt < since) && !(until !== undefined && fireAt >= until);
}

/** @param {Run} run */
function runRow(run) {
  const schedule =
    run.schedule_id !== null && run.schedule_name
      ? link(schedulePath(run.schedule_name), run.schedule_name)
      : h('span', { class: 'muted' }, `${run.schedule_name || run.task || ''} (${run.kind ?? 'ad hoc'})`);
  const attempt = run.max_attempts ? `${run.attempt ?? 0}/${run.max_attempts}` : String(run.attempt ?? '');
  return /** @type {HTMLTableRowElement} */ (
    h(
      'tr',
      { 'data-run-id': run.id },
      h('td', null, link(`/runs/${run.id}`, String(run.id))),
      h('td', null, schedule),
      h('td', null, statusBadge(run.status)),
      h('td', { class: 'nowrap' }, formatInZone(run.fire_at)),
      h('td', { class: 'nowrap' }, run.started_at ? formatInZone(run.started_at) : '—'),
      h('td', { class: 'nowrap' }, run.finished_at ? durationBetween(run.started_at, run.finished_at) : '—'),
      h('td', null, attempt),
    )
  );
}

/**
 * Schedule, Status, Since and Until: applied on change (or Apply), sent to the server as ISO.
 * @param {URLSearchParams} query
 * @param {(filters: URLSearchParams) => void} onApply
 */
function filterForm(query, onApply) {
  const schedule = h('input', { id: 'filter-schedule', type: 'search', value: query.get('schedule') ?? '' });
  const status = h(
    'select',
    { id: 'filter-status' },
    h('option', { value: '' }, 'Any'),
    runStatuses.map((value) => h('option', { value, selected: value === query.get('status') }, value)),
  );
  const since = h('input', { id: 'filter-since', type: 'datetime-local', value: toLocalInput(query.get('since')) });
  const until = h('input', { id: 'filter-until', type: 'datetime-local', value: toLocalInput(query.get('until')) });
  const read = () => {
    const values = {
      schedule: /** @type {HTMLInputElement} */ (schedule).value.trim(),
      status: /** @type {HTMLSelectElement} */ (status).value,
      since: fromLocalInput(/** @type {HTMLInputElement} */ (since).value),
      until: fromLocalInput(/** @type {HTMLInputElement} */ (until).value),
    };
    return new URLSearchParams(Object.entries(values).filter(([, value]) => value));
  };
  const field = (/** @type {string} */ text, /** @type {HTMLElement} */ control) =>
    h('div', { class: 'field' }, h('label', { for: control.id }, text), control);
  return h(
    'form',
    {
      class: 'filters',
      role: 'search',
      'aria-label': 'Filter runs',
      onchange: () => onApply(read()),
      onsubmit: (/** @type {Event} */ event) => {
        event.preventDefault();
        onApply(read());
      },
    },
    field('Schedule', schedule),
    field('Status', status),
    field('Since', since),
    field('Until', until),
    h('div', null, h('button', { type: 'submit' }, 'Apply')),
  );
}

/**
 * An ISO instant as a datetime-local input shows it: the viewer's local time, to the minute.
 * @param {string | null} iso
 */
function toLocalInput(iso) {
  const date = toDate(iso);
  if (!date) return '';
  const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** @param {string} value a datetime-local value, in the viewer's local time */
const fromLocalInput = (value) => toDate(value)?.toISOString() ?? '';
