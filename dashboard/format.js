// How times, intervals and timings read on the page: "2026-12-05 14:03:00 CET", "3 s ago",
// "every 30 seconds", a cron in words (cronstrue).
import cronstrue from 'cronstrue';

/** The viewer's IANA zone, as the browser knows it. */
export const viewerZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

/** @type {Map<string, Intl.DateTimeFormat | null>} one formatter per zone: making one is slow */
const formatters = new Map();

/** @param {string} zone */
function formatterFor(zone) {
  if (!formatters.has(zone)) {
    let formatter = null;
    try {
      formatter = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        hourCycle: 'h23',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
        timeZoneName: 'short',
      });
    } catch {
      // A zone Postgres knows and this browser does not: shown in UTC instead.
    }
    formatters.set(zone, formatter);
  }
  return formatters.get(zone) ?? null;
}

/**
 * @param {string | number | Date | null | undefined} value
 * @returns {Date | null}
 */
export function toDate(value) {
  if (value === null || value === undefined || value === '') return null;
  const date = value instanceof Date ? value : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/**
 * An instant in UTC: "2026-12-05 14:03:00 UTC".
 * @param {string | number | Date | null | undefined} value
 */
export function formatUtc(value) {
  const date = toDate(value);
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC` : '—';
}

/**
 * An instant in a zone, with the zone's abbreviation: "2026-12-05 15:03:00 GMT+1".
 * @param {string | number | Date | null | undefined} value
 * @param {string} [zone] an IANA name; the viewer's by default
 */
export function formatInZone(value, zone = viewerZone) {
  const date = toDate(value);
  const formatter = formatterFor(zone || 'UTC');
  if (!date || !formatter) return formatUtc(value);
  /** @type {Record<string, string>} */
  const part = {};
  for (const { type, value: text } of formatter.formatToParts(date)) part[type] = text;
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second} ${part.timeZoneName}`;
}

/**
 * A length of time in the largest units that matter: "42 s", "5 min", "3 h", "2 d".
 * @param {number} seconds
 */
function formatAge(seconds) {
  const s = Math.abs(Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/**
 * How far an instant is from now: "3 s ago", "in 5 min".
 * @param {string | number | Date | null | undefined} value
 * @param {number} [now]
 */
export function formatRelative(value, now = Date.now()) {
  const date = toDate(value);
  if (!date) return '';
  const seconds = (date.getTime() - now) / 1000;
  if (Math.abs(seconds) < 1) return 'now';
  return seconds < 0 ? `${formatAge(seconds)} ago` : `in ${formatAge(seconds)}`;
}

/**
 * How long something took: "850 ms", "12.3 s", "3 min 4 s", "2 h 5 min".
 * @param {number} ms
 */
function formatDuration(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${whole % 60} s`;
  if (whole < 86400) return `${Math.floor(whole / 3600)} h ${Math.floor((whole % 3600) / 60)} min`;
  return `${Math.floor(whole / 86400)} d ${Math.floor((whole % 86400) / 3600)} h`;
}

/**
 * The time from one instant to another (to now while it goes on), or '' before it starts.
 * @param {string | null | undefined} from
 * @param {string | null | undefined} to
 */
export function durationBetween(from, to) {
  const start = toDate(from);
  if (!start) return '';
  return formatDuration((toDate(to)?.getTime() ?? Date.now()) - start.getTime());
}

const unitNames = /** @type {const} */ ([
  ['year', 'years'],
  ['mon', 'months'],
  ['day', 'days'],
]);

/**
 * A Postgres interval's text ("00:00:02.5", "1 day 02:00:00") in seconds; NaN when unreadable.
 * Months and years are not fixed lengths: they are left out (this reads ages and timeouts).
 * @param {string | null | undefined} text
 */
export function intervalSeconds(text) {
  const days = Number(/(-?\d+) days?\b/.exec(text ?? '')?.[1] ?? 0);
  const time = /([-+])?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(text ?? '');
  if (!time && !days) return Number.NaN;
  const seconds = time ? Number(time[2]) * 3600 + Number(time[3]) * 60 + Number(time[4]) : 0;
  return days * 86400 + (time?.[1] === '-' ? -seconds : seconds);
}

/**
 * A Postgres interval as its text reads ("1 day 02:00:00", "00:00:30", "2 mons") in words:
 * "1 day 2 hours", "30 seconds", "2 months". Text it cannot read is returned as it is.
 * @param {string | null | undefined} text
 */
export function intervalWords(text) {
  if (!text) return '';
  const words = [];
  for (const [unit, plural] of unitNames) {
    const match = new RegExp(`(-?\\d+) ${unit}s?\\b`).exec(text);
    if (match) words.push(count(Number(match[1]), plural));
  }
  const time = /([-+])?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)/.exec(text);
  if (time) {
    const sign = time[1] === '-' ? -1 : 1;
    const [hours, minutes, seconds] = [Number(time[2]), Number(time[3]), Number(time[4])];
    if (hours) words.push(count(sign * hours, 'hours'));
    if (minutes) words.push(count(sign * minutes, 'minutes'));
    if (seconds) words.push(count(sign * seconds, 'seconds'));
  }
  return words.length > 0 ? words.join(' ') : text;
}

/**
 * "1 hour", "2 hours".
 * @param {number} n
 * @param {string} plural
 */
const count = (n, plural) => `${n} ${Math.abs(n) === 1 ? plural.slice(0, -1) : plural}`;

/** @type {Map<string, string>} cron texts repeat across schedules: each is described once */
const cronCache = new Map();

/**
 * A cron in words, by cronstrue; its own text when cronstrue cannot read it.
 * @param {string} expression
 */
function cronWords(expression) {
  let words = cronCache.get(expression);
  if (words === undefined) {
    try {
      words = cronstrue.toString(expression, { use24HourTimeFormat: true, verbose: false });
    } catch {
      words = expression;
    }
    cronCache.set(expression, /** @type {string} */ (words));
  }
  return /** @type {string} */ (words);
}

/**
 * When a schedule fires, in words: a cron described, "every 30 seconds", "once at …", "manual".
 * @param {{ cron?: string | null, every?: string | null, run_at?: string | null, timezone?: string }} item
 */
export function timingWords(item) {
  if (item.cron) return cronWords(item.cron);
  if (item.every) return `every ${intervalWords(item.every)}`;
  if (item.run_at) return `once at ${formatInZone(item.run_at, item.timezone)}`;
  return 'manual';
}

/** A JSON value as people read it: indented. */
export const formatJson = (/** @type {unknown} */ value) => JSON.stringify(value, null, 2);
