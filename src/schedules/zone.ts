/**
 * Wall-clock time in an IANA zone, for cron evaluation with explicit DST rules.
 * A "wall" value is the local date and time written as if it were UTC (epoch ms),
 * so that cron matching can run in UTC, where every local time exists exactly once.
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timezone, format);
  }
  return format;
}

/** The local wall time of an instant, as wall ms (milliseconds kept). */
function wallOf(instantMs: number, timezone: string): number {
  return instantMs + offsetAt(instantMs, timezone);
}

/** The zone's offset at an instant, asked of Intl (a few microseconds); offsetAt caches it. */
function measuredOffset(instantMs: number, timezone: string): number {
  const parts: Record<string, number> = {};
  for (const { type, value } of formatter(timezone).formatToParts(instantMs)) parts[type] = Number(value);
  const seconds = Math.floor(instantMs / 1000) * 1000;
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!) - seconds;
}

/** One day of a zone: its offset, and where it changes within the day if it does. */
interface ZoneDay {
  before: number;
  after: number;
  /** The first instant with the `after` offset; Infinity when the day has one offset. */
  changesAt: number;
}

const dayMs = 86_400_000;
/** Days cached per zone before its cache starts over. */
const maxCachedDays = 10_000;
const zoneDays = new Map<string, Map<number, ZoneDay>>();

/**
 * Offset of the zone from UTC at an instant, in ms (positive east of Greenwich).
 * Cached per zone and UTC day; a transition inside a day is found once, by
 * bisection (no zone changes its offset twice within a day).
 */
export function offsetAt(instantMs: number, timezone: string): number {
  const day = Math.floor(instantMs / dayMs);
  let days = zoneDays.get(timezone);
  if (!days) zoneDays.set(timezone, (days = new Map()));
  let cached = days.get(day);
  if (!cached) {
    if (days.size >= maxCachedDays) days.clear();
    cached = measureDay(day * dayMs, timezone);
    days.set(day, cached);
  }
  return instantMs < cached.changesAt ? cached.before : cached.after;
}

function measureDay(startMs: number, timezone: string): ZoneDay {
  const before = measuredOffset(startMs, timezone);
  const after = measuredOffset(startMs + dayMs, timezone);
  if (before === after) return { before, after, changesAt: Infinity };
  // Invariant: the offset at low is `before`, at high it is not. Clocks change on whole seconds.
  let low = startMs;
  let high = startMs + dayMs;
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (measuredOffset(middle, timezone) === before) low = middle;
    else high = middle;
  }
  return { before, after: measuredOffset(high, timezone), changesAt: high };
}

/** No zone has moved its clocks twice within this span of one wall time. */
const transitionSearchMs = 36 * 3_600_000;

/**
 * The instants at which the zone's clocks show `wallMs`: one normally, two in a
 * repeated hour (fall back), none in a skipped hour (spring forward). Earliest first.
 */
export function instantsOf(wallMs: number, timezone: string): number[] {
  const offsets = new Set([
    offsetAt(wallMs - transitionSearchMs, timezone),
    offsetAt(wallMs, timezone),
    offsetAt(wallMs + transitionSearchMs, timezone),
  ]);
  const instants = [...offsets].map((offset) => wallMs - offset).filter((at) => wallOf(at, timezone) === wallMs);
  return [...new Set(instants)].sort((a, b) => a - b);
}

/**
 * The first instant whose wall time is later than `wallMs`, for a wall time in a
 * skipped hour: the moment the clocks jump (e.g. 03:00 EDT for 02:30 on the day
 * New York springs forward).
 */
export function instantAfterGap(wallMs: number, timezone: string): number {
  // Before the gap the zone had the earlier (smaller) offset: wallMs read with it lies after the jump.
  let low = wallMs - offsetAt(wallMs + transitionSearchMs, timezone);
  let high = wallMs - offsetAt(wallMs - transitionSearchMs, timezone);
  if (low > high) [low, high] = [high, low];
  // Invariant: wallOf(low) < wallMs < wallOf(high). Clocks jump on whole seconds.
  while (high - low > 1000) {
    const middle = low + Math.floor((high - low) / 2000) * 1000;
    if (wallOf(middle, timezone) > wallMs) high = middle;
    else low = middle;
  }
  return high;
}
