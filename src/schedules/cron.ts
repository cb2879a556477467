import { CronExpressionParser } from 'cron-parser';

import { instantAfterGap, instantsOf, offsetAt } from './zone.ts';

/**
 * A cron expression compiled to bit sets, one per field: matching a wall time is a
 * few bit operations, and finding the next match skips whole fields at once.
 * Seconds and minutes (0-59) take two 30-bit words each; the other fields fit one.
 */
export interface CompiledCron {
  readonly secondsLow: number;
  readonly secondsHigh: number;
  readonly minutesLow: number;
  readonly minutesHigh: number;
  readonly hours: number;
  /** Bit d for day-of-month d (1-31). */
  readonly days: number;
  /** Bit m for month m (1-12). */
  readonly months: number;
  /** Bit d for weekday d (0 = Sunday). */
  readonly weekdays: number;
  /** Vixie cron: when both day fields are restricted, either may match. */
  readonly anyDay: boolean;
  readonly anyWeekday: boolean;
}

const secondMs = 1_000;
const daySeconds = 86_400;
/** Eight years hold every combination of leap day and weekday: a match exists within them or never. */
const searchDays = 8 * 366;

/** Compiled expressions by text: a hundred thousand schedules share a few dozen expressions. */
const compiled = new Map<string, CompiledCron>();
const maxCompiled = 10_000;

/**
 * Sets up cron-parser ahead of use: its first parse builds luxon's locale data
 * (30-50 ms), which a scheduler pays at start, not inside a planner step.
 */
export function warmUpCron(): void {
  CronExpressionParser.parse('* * * * *');
}

/**
 * Compiles an expression (5 fields, 6 with seconds first, or a macro) with
 * cron-parser's parser; throws when it cannot be evaluated.
 */
export function compileCron(expression: string): CompiledCron {
  let cron = compiled.get(expression);
  if (cron) return cron;
  const { fields } = CronExpressionParser.parse(expression, { tz: 'UTC' });
  if (fields.dayOfMonth.hasLastChar || fields.dayOfWeek.hasLastChar || fields.dayOfWeek.nthDay > 0) {
    throw new Error('L and # are not supported');
  }
  const bits = (values: readonly (number | string)[], offset = 0) =>
    values.reduce<number>((mask, value) => (typeof value === 'number' ? mask | (1 << (value - offset)) : mask), 0);
  const split = (values: readonly number[]) => ({
    low: bits(values.filter((value) => value < 30)),
    high: bits(
      values.filter((value) => value >= 30),
      30,
    ),
  });
  const seconds = split(fields.second.values);
  const minutes = split(fields.minute.values);
  cron = Object.freeze({
    secondsLow: seconds.low,
    secondsHigh: seconds.high,
    minutesLow: minutes.low,
    minutesHigh: minutes.high,
    hours: bits(fields.hour.values),
    days: bits(fields.dayOfMonth.values),
    months: bits(fields.month.values),
    weekdays: bits(fields.dayOfWeek.values.map((day) => (day === 7 ? 0 : day))),
    anyDay: fields.dayOfMonth.isWildcard,
    anyWeekday: fields.dayOfWeek.isWildcard,
  });
  if (compiled.size >= maxCompiled) compiled.clear();
  compiled.set(expression, cron);
  return cron;
}

/**
 * The first fire of a compiled cron strictly after `afterMs`, in `timezone`, with
 * explicit DST rules. Fields are matched on local wall-clock time (as UTC, where
 * every wall time exists once), then mapped to an instant:
 * - a wall time that does not exist (the skipped hour of spring forward) fires once,
 *   at the instant the clocks jump (02:30 on a New York spring-forward day fires at 03:00 EDT);
 * - a wall time that happens twice (the repeated hour of fall back) fires once, at its
 *   first occurrence.
 */
export function nextCronFire(cron: CompiledCron | string, timezone: string, afterMs: number): number | null {
  const compiledCron = typeof cron === 'string' ? compileCron(cron) : cron;
  let wall = afterMs + offsetAt(afterMs, timezone);
  // Each pass moves to a later wall time; only around a transition does a match map to an instant
  // not after `afterMs` (the second pass of a repeated hour, or a skipped time whose jump already fired).
  for (let pass = 0; pass < 10_000; pass++) {
    const next = nextWallMatch(compiledCron, wall);
    if (next === null) return null;
    const at = instantOfWall(next, timezone);
    if (at > afterMs) return at;
    wall = next;
  }
  return null;
}

/** The instant a matched wall time fires at: its first occurrence, or the jump over a skipped hour. */
function instantOfWall(wallMs: number, timezone: string): number {
  const offset = offsetAt(wallMs, timezone);
  // Far from any transition the zone has one offset around the wall time: no search needed.
  const before = offsetAt(wallMs - 86_400_000, timezone);
  const after = offsetAt(wallMs + 86_400_000, timezone);
  if (before === offset && after === offset) return wallMs - offset;
  return instantsOf(wallMs, timezone)[0] ?? instantAfterGap(wallMs, timezone);
}

/** The first wall time (whole seconds, as UTC ms) strictly after `wallMs` that the cron matches. */
function nextWallMatch(cron: CompiledCron, wallMs: number): number | null {
  const start = Math.floor(wallMs / secondMs) + 1;
  let day = Math.floor(start / daySeconds);
  let secondOfDay = start - day * daySeconds;
  const lastDay = day + searchDays;
  while (day <= lastDay) {
    const date = new Date(day * daySeconds * secondMs);
    const month = date.getUTCMonth() + 1;
    const dayOfMonth = date.getUTCDate();
    if (!(cron.months & (1 << month))) {
      day += daysInMonth(date.getUTCFullYear(), month) - dayOfMonth + 1;
      secondOfDay = 0;
      continue;
    }
    if (dayMatches(cron, dayOfMonth, date.getUTCDay())) {
      const time = nextTimeOfDay(cron, secondOfDay);
      if (time !== -1) return (day * daySeconds + time) * secondMs;
    }
    day += 1;
    secondOfDay = 0;
  }
  return null;
}

function dayMatches(cron: CompiledCron, dayOfMonth: number, weekday: number): boolean {
  const byDay = (cron.days & (1 << dayOfMonth)) !== 0;
  const byWeekday = (cron.weekdays & (1 << weekday)) !== 0;
  if (cron.anyDay && cron.anyWeekday) return true;
  if (cron.anyDay) return byWeekday;
  if (cron.anyWeekday) return byDay;
  return byDay || byWeekday;
}

/** The first second of the day at or after `from` whose hour, minute and second match, or -1. */
function nextTimeOfDay(cron: CompiledCron, from: number): number {
  const fromHour = Math.floor(from / 3_600);
  const fromMinute = Math.floor((from % 3_600) / 60);
  for (let hour = nextBit(cron.hours, fromHour); hour !== -1; hour = nextBit(cron.hours, hour + 1)) {
    const sameHour = hour === fromHour;
    for (
      let minute = next60(cron.minutesLow, cron.minutesHigh, sameHour ? fromMinute : 0);
      minute !== -1;
      minute = next60(cron.minutesLow, cron.minutesHigh, minute + 1)
    ) {
      const second = next60(cron.secondsLow, cron.secondsHigh, sameHour && minute === fromMinute ? from % 60 : 0);
      if (second !== -1) return hour * 3_600 + minute * 60 + second;
    }
  }
  return -1;
}

/** The lowest set bit of `mask` at or above `from` (0-31), or -1. */
function nextBit(mask: number, from: number): number {
  if (from > 31) return -1;
  const rest = mask & (-1 << from);
  return rest === 0 ? -1 : 31 - Math.clz32(rest & -rest);
}

/** nextBit over a 0-59 field kept as two 30-bit words. */
function next60(low: number, high: number, from: number): number {
  if (from < 30) {
    const found = nextBit(low & 0x3fffffff, from);
    if (found !== -1) return found;
    from = 30;
  }
  const found = nextBit(high, from - 30);
  return found === -1 || found > 29 ? -1 : found + 30;
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
