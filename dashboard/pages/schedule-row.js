// One row of the schedules table: name, when (in words and as written), next fire (in the
// schedule's zone and the viewer's), last status, the last 20 outcomes, state.
import { h, link, schedulePath, statusBadge, toneOf } from '../dom.js';
import { formatInZone, formatUtc, timingWords, viewerZone } from '../format.js';

/**
 * A schedule as the list and GET by name give it (the fields this page reads).
 * @typedef {object} ScheduleItem
 * @property {number} id
 * @property {string} name
 * @property {string} task
 * @property {string} state
 * @property {string | null} spec
 * @property {string | null} cron
 * @property {string | null} every
 * @property {string | null} run_at
 * @property {string} timezone
 * @property {boolean} enabled
 * @property {string | null} description
 * @property {Record<string, unknown> | null} labels
 * @property {string | null} next_fire_at
 * @property {string | null} last_fire_at
 * @property {string | null} last_status
 * @property {boolean | null} drift
 * @property {string | null} managed_by
 * @property {Array<{ id: number, status: string, fire_at: string }>} [recent_outcomes]
 * @property {Array<{ id: number, status: string, fire_at: string }>} [recent_runs]
 */

/** A symbol per outcome, so that the marks differ in shape as well as in color. */
const symbols = {
  succeeded: '✓',
  failed: '✗',
  timed_out: '◷',
  running: '▶',
  pending: '○',
  skipped: '↷',
  missed: '!',
  cancelled: '⊘',
};

/**
 * The schedule's last outcomes, newest first: recent_outcomes (up to 20), or, from an answer
 * that lacks them, its recent runs.
 * @param {ScheduleItem} item
 */
const outcomesOf = (item) => item.recent_outcomes ?? item.recent_runs ?? [];

/**
 * @param {ScheduleItem} item
 * @returns {HTMLTableRowElement}
 */
export function scheduleRow(item) {
  // Few elements a row: at 1,000 rows, each one costs layout time.
  return /** @type {HTMLTableRowElement} */ (
    h(
      'tr',
      { 'data-schedule': item.name },
      h(
        'th',
        { scope: 'row' },
        link(schedulePath(item.name), item.name),
        item.description && h('span', { class: 'block muted small' }, item.description),
      ),
      h(
        'td',
        { class: 'when' },
        timingWords(item),
        h('code', { class: 'block spec' }, item.spec ?? item.cron ?? 'manual'),
      ),
      h('td', { class: 'nowrap' }, nextFire(item)),
      h(
        'td',
        null,
        statusBadge(item.last_status),
        item.last_fire_at && h('span', { class: 'block muted small nowrap' }, formatInZone(item.last_fire_at)),
      ),
      // Filled by showOutcomes when the row nears the viewport.
      h('td', { class: 'recent' }),
      h('td', null, stateBadges(item)),
    )
  );
}

/** @param {ScheduleItem} item */
function nextFire(item) {
  if (!item.next_fire_at) return h('span', { class: 'muted' }, '—');
  const zone = item.timezone || 'UTC';
  const inZone = formatInZone(item.next_fire_at, zone);
  return [
    // The zone's name, unless its abbreviation already is it ("… UTC").
    inZone.endsWith(` ${zone}`) ? inZone : `${inZone} (${zone})`,
    zone !== viewerZone &&
      h('span', { class: 'block muted small' }, `yours: ${formatInZone(item.next_fire_at, viewerZone)}`),
  ];
}

/**
 * Draws a row's recent outcomes. Twenty links a row cost more to lay out and paint than all
 * the rest of it, so the page draws them only for the rows that come near the viewport.
 * @param {HTMLTableRowElement} row a row of scheduleRow
 * @param {ScheduleItem} item
 */
export function showOutcomes(row, item) {
  row.querySelector('td.recent')?.replaceChildren(outcomeMarks(outcomesOf(item)));
}

/**
 * Small marks, one per outcome, each a link to its run that says what and when.
 * @param {Array<{ id: number, status: string, fire_at: string }>} outcomes
 */
function outcomeMarks(outcomes) {
  if (outcomes.length === 0) return h('span', { class: 'muted' }, '—');
  return h(
    'span',
    { class: 'marks' },
    outcomes.map((outcome) => {
      const label = `${outcome.status} at ${formatUtc(outcome.fire_at)}`;
      return h(
        'a',
        { href: `/runs/${outcome.id}`, class: `mark ${toneOf(outcome.status)}`, 'aria-label': label, title: label },
        symbols[/** @type {keyof typeof symbols} */ (outcome.status)] ?? '?',
      );
    }),
  );
}

/**
 * The state, and where it came from: "drift" and "from <source>" for a schedule of job files.
 * @param {ScheduleItem} item
 */
export function stateBadges(item) {
  return [
    statusBadge(item.state),
    item.drift && h('span', { class: 'badge tone-warn' }, 'drift'),
    item.managed_by && h('span', { class: 'badge tone-plain' }, `from ${item.managed_by}`),
  ];
}
