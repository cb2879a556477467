// DST rules of cron evaluation, as tables over transition days (2026): a local time
// that does not exist fires once, when the clocks jump; a local time that happens
// twice fires once, at its first occurrence. Checked against the scheduler's
// implementation (test/unit/cron-dst.test.ts) and the SQL one (test/preview.test.ts).

export interface DstCase {
  zone: string;
  what: string;
  cron: string;
  from: string;
  expected: string[];
}

export const dstCases: DstCase[] = [
  // America/New_York: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
  {
    zone: 'America/New_York',
    what: 'a daily 02:30 on the spring-forward day fires at the jump, 03:00 EDT',
    cron: '30 2 * * *',
    from: '2026-03-07T12:00:00Z',
    expected: ['2026-03-08T07:00:00.000Z', '2026-03-09T06:30:00.000Z'],
  },
  {
    zone: 'America/New_York',
    what: 'an hourly cron fires once for the skipped 02:00 and 03:00 together',
    cron: '0 * * * *',
    from: '2026-03-08T05:30:00Z',
    expected: ['2026-03-08T06:00:00.000Z', '2026-03-08T07:00:00.000Z', '2026-03-08T08:00:00.000Z'],
  },
  {
    zone: 'America/New_York',
    what: 'every 20 minutes in the repeated 01:00 hour fires in its first pass only',
    cron: '*/20 1 * * *',
    from: '2026-10-31T12:00:00Z',
    expected: [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T05:20:00.000Z',
      '2026-11-01T05:40:00.000Z',
      '2026-11-02T06:00:00.000Z',
    ],
  },
  {
    zone: 'America/New_York',
    what: 'a daily 01:30 on the fall-back day fires once, in EDT',
    cron: '30 1 * * *',
    from: '2026-10-31T12:00:00Z',
    expected: ['2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
  },
  {
    zone: 'America/New_York',
    what: 'a scheduler starting inside the second 01:xx pass does not fire 01:30 again',
    cron: '30 1 * * *',
    from: '2026-11-01T06:10:00Z', // 01:10 EST
    expected: ['2026-11-02T06:30:00.000Z'],
  },
  // Europe/London: 2026-03-29 01:00 GMT → 02:00 BST; 2026-10-25 02:00 BST → 01:00 GMT.
  {
    zone: 'Europe/London',
    what: 'a daily 01:15 on the spring-forward day fires at 02:00 BST',
    cron: '15 1 * * *',
    from: '2026-03-28T12:00:00Z',
    expected: ['2026-03-29T01:00:00.000Z', '2026-03-30T00:15:00.000Z'],
  },
  {
    zone: 'Europe/London',
    what: 'a daily 01:30:00 (6 fields) on the fall-back day fires once, in BST',
    cron: '0 30 1 * * *',
    from: '2026-10-24T12:00:00Z',
    expected: ['2026-10-25T00:30:00.000Z', '2026-10-26T01:30:00.000Z'],
  },
  {
    zone: 'Europe/London',
    what: 'every 30 minutes across fall back: 00:30 BST, 01:00 BST, 01:30 BST, then 02:00 GMT',
    cron: '*/30 * * * *',
    from: '2026-10-24T23:15:00Z',
    expected: [
      '2026-10-24T23:30:00.000Z',
      '2026-10-25T00:00:00.000Z',
      '2026-10-25T00:30:00.000Z',
      '2026-10-25T02:00:00.000Z',
    ],
  },
  // Australia/Lord_Howe: +10:30 ↔ +11:00, a 30-minute shift. 2026-10-04 02:00 → 02:30; 2026-04-05 02:00 → 01:30.
  {
    zone: 'Australia/Lord_Howe',
    what: 'a daily 02:15 in the skipped half hour fires at 02:30 (+11)',
    cron: '15 2 * * *',
    from: '2026-10-03T00:00:00Z',
    expected: ['2026-10-03T15:30:00.000Z', '2026-10-04T15:15:00.000Z'],
  },
  {
    zone: 'Australia/Lord_Howe',
    what: 'every 10 minutes through the repeated half hour fires 01:30-01:50 once',
    cron: '*/10 1 * * *',
    from: '2026-04-04T14:15:00Z', // 01:15 +11
    expected: [
      '2026-04-04T14:20:00.000Z',
      '2026-04-04T14:30:00.000Z',
      '2026-04-04T14:40:00.000Z',
      '2026-04-04T14:50:00.000Z',
      '2026-04-05T14:30:00.000Z',
    ],
  },
  // Pacific/Chatham: +13:45 → +12:45 on 2026-04-05 at 03:45, so 02:45-03:45 repeats.
  {
    zone: 'Pacific/Chatham',
    what: 'a per-second cron started inside the repeated hour resumes after it (found by the property test)',
    cron: '* * 0-4 * * *',
    from: '2026-04-04T14:13:22Z', // 02:58:22 +12:45, the second pass
    expected: ['2026-04-04T15:00:00.000Z', '2026-04-04T15:00:01.000Z'],
  },
  // Asia/Kathmandu: +05:45 all year, no DST.
  {
    zone: 'Asia/Kathmandu',
    what: 'midnight is 18:15 UTC the day before',
    cron: '0 0 * * *',
    from: '2026-01-01T00:00:00Z',
    expected: ['2026-01-01T18:15:00.000Z', '2026-01-02T18:15:00.000Z'],
  },
  {
    zone: 'Asia/Kathmandu',
    what: 'a quarter-hour cron lands on :00, :15, :30, :45 local',
    cron: '*/15 9 * * *',
    from: '2026-06-01T00:00:00Z',
    expected: [
      '2026-06-01T03:15:00.000Z',
      '2026-06-01T03:30:00.000Z',
      '2026-06-01T03:45:00.000Z',
      '2026-06-01T04:00:00.000Z',
    ],
  },
];
