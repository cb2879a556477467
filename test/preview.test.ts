// baton.preview() and the SQL cron evaluation behind it: a second implementation of
// the scheduler's rules, in PL/pgSQL over Postgres's own time zone database. The two
// must agree on the DST tables and on 10,000 random expressions, zones and instants.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { nextCronFire } from '../src/schedules/cron.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';
import { dstCases } from './helpers/dst-cases.ts';
import { generator, propertySeed, randomSource } from './helpers/random-cron.ts';

const randomCases = 10_000;
const batch = 1_000;

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(() => db.drop());

describe('cron validation at bulk speed', () => {
  it(`the fast check and the full one agree on random and broken expressions (seed ${propertySeed})`, async () => {
    const random = generator(randomSource(propertySeed + 1));
    const breakages = [
      (e: string) => e.replace(/\d+/, '61'),
      (e: string) => e.replace(/(\d+)-(\d+)/, '$2-$1'),
      (e: string) => e.replace(/\S+$/, '0-7'),
      (e: string) => e.replace(/\S+$/, '1-7'),
      (e: string) => e.replace(/^\S+/, '*/0'),
      (e: string) => e.replace(/^\S+/, '5/15'),
      (e: string) => `${e} *`,
      (e: string) => e.replace(/\S+$/, 'mon-fri'),
      (e: string) => e.replace(/\S+$/, '?'),
      (e: string) => e.replace(/^\S+/, '?'),
      (e: string) => e.replace(/ /g, '\t '),
      (e: string) => e.replace(/\d+/, '07'),
    ];
    const expressions = Array.from({ length: 3_000 }, (_, i) => {
      const expression = random.cron();
      return i % 2 === 0 ? expression : breakages[i % breakages.length]!(expression);
    });
    const rows = await db.query<{ expr: string; fast: string | null; full: string | null }>(
      `select e as expr, baton.cron_error(e) as fast, (baton._cron_parse(e)).error as full from unnest($1::text[]) e`,
      [[...expressions, '@daily', '@every 5m', '0 0 7-5 * *', '0 9 * * 1-5', '*/15 9-17 * * *']],
    );
    const disagreements = rows.filter((row) => row.fast !== row.full);
    assert.deepEqual(disagreements.slice(0, 5), [], `${disagreements.length} disagreements`);
    assert.ok(rows.filter((row) => row.full === null).length > 1_000, 'most random expressions are valid');
    assert.ok(rows.filter((row) => row.full !== null).length > 300, 'many broken ones are refused');
  });
});

describe('SQL cron evaluation', () => {
  for (const { zone, what, cron, from, expected } of dstCases) {
    it(`${zone}: ${what}`, async () => {
      const rows = await db.query(`select fire_at from baton._cron_fires($1, $2, $3, $4)`, [
        cron,
        zone,
        from,
        expected.length,
      ]);
      assert.deepEqual(
        rows.map((row) => row.fire_at.toISOString()),
        expected,
      );
    });
  }

  it(`agrees with the scheduler on ${randomCases} random cases (seed ${propertySeed})`, async () => {
    const random = generator(randomSource(propertySeed));
    let disagreements: string[] = [];
    for (let start = 0; start < randomCases; start += batch) {
      const cases = Array.from({ length: batch }, () => {
        const timezone = random.zone();
        return { expression: random.cron(), timezone, after: random.instant(timezone) };
      });
      const rows = await db.query<{ i: string; fire_at: Date }>(
        `select c.i, f.fire_at
         from unnest($1::text[], $2::text[], $3::timestamptz[]) with ordinality as c(expr, tz, after, i)
         cross join lateral baton._cron_fires(c.expr, c.tz, c.after, 1) f`,
        [
          cases.map((c) => c.expression),
          cases.map((c) => c.timezone),
          cases.map((c) => new Date(c.after).toISOString()),
        ],
      );
      const sql = new Map(rows.map((row) => [Number(row.i) - 1, row.fire_at.getTime()]));
      disagreements = disagreements.concat(
        cases.flatMap(({ expression, timezone, after: at }, index) => {
          const ours = nextCronFire(expression, timezone, at);
          const theirs = sql.get(index) ?? null;
          if (ours === theirs) return [];
          const show = (value: number | null) => (value === null ? 'none' : new Date(value).toISOString());
          return [
            `case ${start + index}: "${expression}" in ${timezone} after ${new Date(at).toISOString()}: scheduler ${show(ours)}, SQL ${show(theirs)}`,
          ];
        }),
      );
    }
    assert.deepEqual(disagreements.slice(0, 5), [], `seed ${propertySeed}: ${disagreements.length} disagreements`);
  });
});

describe('baton.preview()', () => {
  it('lists the next fires of a schedule in its zone, flagging those DST moved', async () => {
    await db.query(
      `select baton.schedule('nightly', '30 2 * * *', 'sql', '{"sql":"select 1"}', '{"timezone":"America/New_York"}')`,
    );
    const rows = await db.query(
      `select fire_at, to_char(local_time, 'YYYY-MM-DD HH24:MI') as local, utc_offset::text, note from baton.preview('nightly', 3)`,
    );
    assert.equal(rows.length, 3);
    for (const row of rows) {
      // 02:30 with no note, or, on a spring-forward night, when the clocks jump, saying so.
      if (row.note === null) assert.ok(row.local.endsWith(' 02:30'), row.local);
      else assert.match(row.note, /^skipped hour: \d{4}-\d\d-\d\d 02:30:00 does not exist/);
    }
    const days = rows.map((row) => Date.parse(row.local.slice(0, 10)) / 86_400_000);
    assert.deepEqual(
      days,
      days.map((_, index) => days[0]! + index),
      'one fire a day',
    );
    const spring = await db.query(
      `select * from baton._cron_fires('30 2 * * *', 'America/New_York', '2026-03-07T12:00:00Z', 1)`,
    );
    assert.match(spring[0]!.note, /skipped hour: 2026-03-08 02:30:00 does not exist, fires when the clocks jump/);
  });

  it('previews a spec without a schedule, in any zone', async () => {
    const rows = await db.query(
      `select to_char(local_time, 'HH24:MI') as local, utc_offset::text as off from baton.preview('0 9 * * 1-5', 2, 'Asia/Kathmandu')`,
    );
    assert.deepEqual(rows, [
      { local: '09:00', off: '05:45:00' },
      { local: '09:00', off: '05:45:00' },
    ]);
    const every = await db.query(`select fire_at from baton.preview('every 90 minutes', 3)`);
    assert.equal(every[1]!.fire_at - every[0]!.fire_at, 90 * 60_000);
    const at = await db.query(`select fire_at from baton.preview('at 2030-01-01T10:00:00Z')`);
    assert.equal(at[0]!.fire_at.toISOString(), '2030-01-01T10:00:00.000Z');
  });

  it('rejects what it cannot preview, naming the field', async () => {
    await assert.rejects(db.query(`select * from baton.preview('61 * * * *')`), /cron: "61 \* \* \* \*": minute field/);
    await assert.rejects(
      db.query(`select * from baton.preview('* * * * *', 5, 'Mars/Base')`),
      /timezone: "Mars\/Base"/,
    );
    await assert.rejects(db.query(`select * from baton.preview('* * * * *', 0)`), /n: must be between 1 and 1000/);
    // The spec is read by the parser schedule() uses: a bad interval or instant names its field.
    await assert.rejects(
      db.query(`select * from baton.preview('every now and then')`),
      (error: { column?: string }) => {
        assert.equal(error.column, 'every');
        return true;
      },
    );
    await assert.rejects(db.query(`select * from baton.preview('at dawn')`), /run_at: "at dawn": /);
    await assert.rejects(db.query(`select * from baton.preview('  ')`), /spec: is empty/);
  });
});
