import { offsetAt } from '../../src/schedules/zone.ts';

// Seeded random cron expressions, zones and instants for property tests: a failure
// prints its seed and case, and `BATON_PROPERTY_SEED=<seed>` replays it.

/** mulberry32: small, fast, good enough for test inputs. */
export function randomSource(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export const propertySeed = Number(process.env.BATON_PROPERTY_SEED ?? Date.now() % 1_000_000);

/** The zones of the DST tables, and a few more shapes of offset. */
export const zones = [
  'UTC',
  'America/New_York',
  'Europe/London',
  'Europe/Berlin',
  'Australia/Lord_Howe',
  'Asia/Kathmandu',
  'America/Sao_Paulo',
  'Pacific/Chatham',
];

/** The instants (to the minute) at which a zone changed its offset in 2026-2027. */
function transitionsOf(timezone: string): number[] {
  const found: number[] = [];
  const start = Date.parse('2026-01-01T00:00:00Z');
  for (let at = start; at < start + 2 * 366 * 86_400_000; at += 3_600_000) {
    if (offsetAt(at, timezone) === offsetAt(at + 3_600_000, timezone)) continue;
    let [low, high] = [at, at + 3_600_000];
    while (high - low > 60_000) {
      const middle = low + Math.floor((high - low) / 120_000) * 60_000;
      if (offsetAt(middle, timezone) === offsetAt(low, timezone)) low = middle;
      else high = middle;
    }
    found.push(high);
  }
  return found;
}

export function generator(random: () => number) {
  const transitions = new Map(zones.map((zone) => [zone, transitionsOf(zone)]));
  const int = (lo: number, hi: number) => lo + Math.floor(random() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

  /** One field: *, a step, a value, a list, a range, a stepped range. */
  function field(lo: number, hi: number, starWeight: number): string {
    if (random() < starWeight) return '*';
    const a = int(lo, hi - 1);
    const b = int(a + 1, hi);
    return pick([
      `*/${int(2, Math.max(2, Math.ceil((hi - lo) / 2)))}`,
      `${a}`,
      `${a},${b}`,
      `${a}-${b}`,
      `${a}-${b}/${int(1, 3)}`,
    ]);
  }

  return {
    /** A random expression, 5 fields or 6 with seconds first. */
    cron(): string {
      const fields = [field(0, 59, 0.2), field(0, 23, 0.35), field(1, 28, 0.7), field(1, 12, 0.8), field(0, 6, 0.75)];
      return random() < 0.4 ? [field(0, 59, 0.3), ...fields].join(' ') : fields.join(' ');
    },
    zone: () => pick(zones),
    /**
     * An instant in 2026-2027, on whole seconds half the time; for a third of them,
     * within a day and a half of one of the zone's DST transitions.
     */
    instant(timezone: string): number {
      const near = transitions.get(timezone) ?? [];
      const at =
        near.length > 0 && random() < 0.33
          ? pick(near) + Math.floor((random() * 2 - 1) * 36 * 3_600_000)
          : Date.parse('2026-01-01T00:00:00Z') + Math.floor(random() * 2 * 365 * 86_400_000);
      return random() < 0.5 ? at - (at % 1000) : at;
    },
  };
}
