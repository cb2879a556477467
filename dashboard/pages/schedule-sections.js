// The parts of a schedule's page that explain it: its fields, its next fires, its recent
// runs, why fires did not run, and who changed it through which door.
import { definitionList, h, link, scrollingTable, statusBadge } from '../dom.js';
import {
  durationBetween,
  formatInZone,
  formatJson,
  formatRelative,
  formatUtc,
  intervalWords,
  timingWords,
} from '../format.js';

/** @typedef {Record<string, any>} Item a schedule as GET /api/v1/schedules/{name} gives it */

/** @param {unknown} value */
const json = (value) => h('pre', null, formatJson(value));
/** @param {string | null | undefined} text */
const interval = (text) => (text ? intervalWords(text) : null);
/** @param {string | null | undefined} value */
const instant = (value) => (value ? formatInZone(value) : null);

/**
 * A titled section: its content, or (when there is none) a muted line saying so.
 * @param {string} title
 * @param {Node | null} content
 * @param {string} none
 */
const section = (title, content, none) =>
  h('section', null, h('h2', null, title), content ?? h('p', { class: 'muted' }, none));

/** @param {Item} item */
export function definitionSection(item) {
  const labels = item.labels && Object.keys(item.labels).length > 0 ? json(item.labels) : null;
  return h(
    'section',
    null,
    h('h2', null, 'Definition'),
    definitionList([
      ['Task', item.task],
      ['When', [timingWords(item), ' ', h('code', null, item.spec ?? item.cron ?? 'manual')]],
      ['Time zone', item.timezone],
      ['Enabled', item.enabled ? 'yes' : 'no'],
      [
        'Next fire',
        item.next_fire_at && `${formatInZone(item.next_fire_at, item.timezone)}, ${formatRelative(item.next_fire_at)}`,
      ],
      ['Last fire', item.last_fire_at && `${formatInZone(item.last_fire_at)}, ${formatRelative(item.last_fire_at)}`],
      ['Payload', json(item.payload ?? {})],
      ['Queue', item.queue],
      ['Priority', item.priority],
      ['Max attempts', item.max_attempts],
      ['Timeout', interval(item.timeout)],
      ['Overlap', item.overlap],
      ['Misfire', item.misfire],
      ['Catch-up window', interval(item.catchup_window)],
      ['Jitter', interval(item.jitter)],
      ['Starts at', instant(item.starts_at)],
      ['Ends at', instant(item.ends_at)],
      ['Description', item.description],
      ['Labels', labels],
      ['Unknown task allowed', item.allow_unknown_task ? 'yes' : null],
      [
        'Last 24 h',
        `${item.succeeded_24h ?? 0} succeeded, ${item.failed_24h ?? 0} failed, ${item.missed_24h ?? 0} missed`,
      ],
      ['Last error', item.last_error],
      ['Owner', item.owner],
      ['Created', instant(item.created_at)],
      ['Updated', instant(item.updated_at)],
    ]),
  );
}

/**
 * A fire's UTC offset as "+01:00" from Postgres's interval text ("01:00:00", "-05:30:00").
 * @param {string | null | undefined} offset
 */
function offsetText(offset) {
  const match = /^(-)?(\d+):(\d{2})/.exec(offset ?? '');
  return match ? `UTC${match[1] ?? '+'}${match[2]?.padStart(2, '0')}:${match[3]}` : '';
}

/** @param {Item} item */
export function nextFiresSection(item) {
  /** @type {Array<{ fire_at: string, local_time: string, utc_offset: string, note: string | null }>} */
  const fires = item.next_fires ?? [];
  const rows = fires.map((fire) =>
    h(
      'tr',
      null,
      h('td', { class: 'nowrap' }, formatUtc(fire.fire_at)),
      h(
        'td',
        { class: 'nowrap' },
        `${String(fire.local_time).replace('T', ' ').slice(0, 19)} ${offsetText(fire.utc_offset)}`,
      ),
      h('td', null, fire.note ?? ''),
    ),
  );
  return section(
    'Next fires',
    fires.length === 0
      ? null
      : scrollingTable(
          'Next fires',
          ['Fire at (UTC)', `Local time (${item.timezone})`, 'DST note'],
          h('tbody', null, rows),
        ),
    'No fires planned.',
  );
}

/** @param {Item} item */
export function recentRunsSection(item) {
  /** @type {Item[]} */
  const runs = item.recent_runs ?? [];
  const rows = runs.map((run) =>
    h(
      'tr',
      null,
      h('td', null, link(`/runs/${run.id}`, String(run.id))),
      h('td', null, statusBadge(run.status)),
      h('td', { class: 'nowrap' }, formatInZone(run.fire_at)),
      h('td', { class: 'nowrap' }, durationBetween(run.started_at, run.finished_at)),
      h('td', null, String(run.attempt ?? '')),
      h('td', { class: 'message' }, run.error ?? run.reason ?? ''),
    ),
  );
  return section(
    'Recent runs',
    runs.length === 0
      ? null
      : scrollingTable(
          'Recent runs',
          ['Run', 'Status', 'Fire at', 'Duration', 'Attempt', 'Error or reason'],
          h('tbody', null, rows),
        ),
    'No runs yet.',
  );
}

/**
 * Why fires did not run: runs skipped or missed (with their reason), a pause (since when), no
 * worker for the task, a schedule the scheduler cannot plan, a window that ended.
 * @param {Item} item
 */
export function whySection(item) {
  const reasons = [];
  if (item.state === 'invalid') reasons.push(`The scheduler cannot plan it: ${item.plan_error ?? 'no reason given'}`);
  if (item.enabled === false || item.state === 'paused') {
    const pause = (item.changes ?? []).find((/** @type {Item} */ change) => change.after?.enabled === false);
    reasons.push(pause ? `Paused since ${formatInZone(pause.at)} (${doorOf(pause)}).` : 'Paused.');
  }
  if (item.live_workers === 0) reasons.push(`No live worker offers the task ${item.task}: its runs wait`);
  if (item.state === 'ended')
    reasons.push(`Its window ended${item.ends_at ? ` at ${formatInZone(item.ends_at)}` : ''}.`);
  if (item.state === 'done') reasons.push('It fired once, as planned: it will not fire again.');
  const dropped = (item.recent_runs ?? []).filter((/** @type {Item} */ run) =>
    ['skipped', 'missed'].includes(run.status),
  );
  const items = [
    ...reasons.map((reason) => h('li', null, reason)),
    ...dropped.map((/** @type {Item} */ run) =>
      h(
        'li',
        null,
        link(`/runs/${run.id}`, `Run ${run.id}`),
        ' ',
        statusBadge(run.status),
        ` fire at ${formatInZone(run.fire_at)}: ${run.reason ?? 'no reason recorded'}`,
      ),
    ),
  ];
  return section(
    'Why fires did not run',
    items.length === 0 ? null : h('ul', { class: 'why' }, items),
    'Nothing stopped its recent fires.',
  );
}

/**
 * Through which door a change came: its `via`, else its application, else plain SQL.
 * @param {Item} change
 */
const doorOf = (change) => change.via || change.application || 'SQL';

/**
 * The fields a change touched, before → after (on insert only after, on delete only before).
 * @param {Item} change
 */
function changedFields(change) {
  const before = change.before ?? {};
  const after = change.after ?? {};
  const fields = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const shown = fields.filter((field) => change.op === 'update' || (before[field] ?? after[field]) !== null);
  const value = (/** @type {unknown} */ v) => h('code', null, typeof v === 'string' ? v : JSON.stringify(v));
  return h(
    'ul',
    { class: 'diff' },
    shown.map((field) =>
      h(
        'li',
        null,
        h('span', { class: 'field-name' }, field),
        ': ',
        change.op !== 'insert' && value(before[field] ?? null),
        change.op === 'update' && ' → ',
        change.op !== 'delete' && value(after[field] ?? null),
      ),
    ),
  );
}

/** @param {Item} item */
export function changesSection(item) {
  /** @type {Item[]} */
  const changes = item.changes ?? [];
  return section(
    'Changes',
    changes.length === 0
      ? null
      : h(
          'ol',
          { class: 'changes' },
          changes.map((change) =>
            h(
              'li',
              null,
              h(
                'p',
                { class: 'change-head' },
                h('time', { datetime: change.at }, formatInZone(change.at)),
                ` · ${change.op} · ${change.login ?? 'unknown login'} · ${doorOf(change)}`,
              ),
              changedFields(change),
            ),
          ),
        ),
    'No changes recorded.',
  );
}
