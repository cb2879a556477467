// The runs page (/runs): newest first, filtered by the server (the filters are in the URL),
// kept live from the event stream: rows change in place, new runs that match come in on top.
import { get } from '../api.js';
import { alertBox, h, link, schedulePath, scrollingTable, statusBadge } from '../dom.js';
import { durationBetween, formatInZone, toDate } from '../format.js';
import { throttleByKey } from '../live.js';

/** @typedef {Record<string, any>} Run a run as GET /api/v1/runs lists it */

const runStatuses = ['pending', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'missed'];
const filterNames = ['schedule', 'status', 'since', 'until'];
/** The fields of a `run` event that are a run's own (`schedule` is its schedule_name). */
const eventFields = ['id', 'schedule_id', 'task', 'kind', 'status', 'attempt', 'fire_at', 'started_at', 'finished_at'];

/** @type {import('../app.js').PageFunction} */
export async function runsPage(main, context) {
  const list = new RunList(context);
  main.append(
    h('h1', { tabindex: -1 }, 'Runs'),
    filterForm(context.query, (filters) => list.apply(filters)),
    list.failure,
    list.empty,
    scrollingTable('Runs', ['Run', 'Schedule', 'Status', 'Fire at', 'Started', 'Duration', 'Attempt'], list.body),
    h('div', { class: 'actions' }, list.more),
  );
  await list.reload();
  return list;
}

/** The rows of the runs table: pages of the API, and the changes the stream brings. */
class RunList {
  body = h('tbody');
  failure = h('div');
  empty = h('p', { class: 'muted', hidden: true }, 'No runs match these filters.');
  more = h('button', { type: 'button', id: 'load-more', hidden: true, onclick: () => this.#loadMore() }, 'Load more');
  /** @type {Map<number, { run: Run, row: HTMLTableRowElement }>} */
  #shown = new Map();
  /** @type {string | null} where the next page starts; null: none */
  #cursor = null;
  #filters;
  #signal;

  /** @param {import('../app.js').PageContext} context */
  constructor({ query, signal, live }) {
    this.#filters = filterQuery(query);
    this.#signal = signal;
    const reloadSoon = throttleByKey(() => this.reload().catch((error) => this.#report(error)), 500, signal);
    live.on('run', (/** @type {Run} */ event) => this.#runChanged(event), signal);
    // A burst over 100 runs comes as a count only: the first page is read again.
    live.on(
      'runs',
      (data) => (Array.isArray(data) ? data.forEach((run) => this.#runChanged(run)) : reloadSoon('runs')),
      signal,
    );
  }

  /**
   * New filters: kept in the URL, and the first page read again.
   * @param {URLSearchParams} filters
   */
  apply(filters) {
    const search = filters.toString();
    if (search === this.#filters.toString()) return;
    this.#filters = filters;
    history.replaceState(null, '', search ? `/runs?${search}` : '/runs');
    this.reload().catch((error) => this.#report(error));
  }

  async reload() {
    const page = await this.#fetchPage(null);
    if (this.#signal.aborted) return;
    this.#shown.clear();
    this.body.replaceChildren();
    this.#showPage(page);
  }

  async #loadMore() {
    try {
      const page = await this.#fetchPage(this.#cursor);
      if (!this.#signal.aborted) this.#showPage(page);
    } catch (error) {
      this.#report(error);
    }
  }

  /** @param {string | null} cursor runs before it; null: the newest */
  #fetchPage(cursor) {
    const search = new URLSearchParams(this.#filters);
    search.set('limit', '100');
    if (cursor) search.set('cursor', cursor);
    return get(`/api/v1/runs?${search}`, this.#signal);
  }

  /** @param {{ items: Run[], next_cursor: string | null }} page */
  #showPage(page) {
    const fragment = document.createDocumentFragment();
    for (const run of page.items.filter((run) => !this.#shown.has(run.id))) {
      const row = runRow(run);
      this.#shown.set(run.id, { run, row });
      fragment.append(row);
    }
    this.body.append(fragment);
    this.#cursor = page.next_cursor;
    this.more.hidden = this.#cursor === null;
    this.empty.hidden = this.#shown.size > 0;
    this.failure.replaceChildren();
  }

  /**
   * A run's change from the stream: its row updated in place; a run not shown that matches the
   * filters inserted where its id puts it (unless it belongs to a page not loaded yet).
   * @param {Run} event
   */
  #runChanged(event) {
    // Output is not shown here.
    if (event.change === 'output') return;
    const entry = this.#shown.get(event.id);
    const run = { ...entry?.run, ...fromEvent(event) };
    const row = runRow(run);
    if (entry) {
      entry.row.replaceWith(row);
    } else {
      if (!matches(run, this.#filters)) return;
      // Rows are newest (highest id) first: a new one goes before the first older one.
      const next = [...this.body.children].find(
        (other) => Number(/** @type {HTMLElement} */ (other).dataset.runId) < run.id,
      );
      if (!next && this.#cursor !== null) return;
      this.body.insertBefore(row, next ?? null);
      this.empty.hidden = true;
    }
    this.#shown.set(run.id, { run, row });
  }

  /** @param {unknown} error */
  #report(error) {
    if (!this.#signal.aborted)
      this.failure.replaceChildren(alertBox(error instanceof Error ? error.message : String(error)));
  }
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
