/** What the CLI prints in each `--output` format, and the one time format it shares with the dashboard. */
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { keyValues, setOutputFormat, table, wantsJson } from '../../src/cli/output.js';
import { formatShortTime, formatTime, zoneOffset } from '../../src/model/timeFormat.js';

describe('--output', () => {
  after(() => setOutputFormat(undefined));
  const rows = [
    { id: 'a', n: 1 },
    { id: 'bb', n: 22 },
  ];
  const columns = [
    { header: 'ID', value: (r: { id: string }) => r.id },
    { header: 'N', value: (r: { n: number }) => String(r.n), right: true },
  ];

  test('table (the default) aligns columns under a header', () => {
    setOutputFormat(undefined);
    assert.equal(table(rows, columns), 'ID   N\na    1\nbb  22\n');
    assert.equal(wantsJson(), false);
  });

  test('text gives tab-separated fields without a header, for cut and awk', () => {
    setOutputFormat('text');
    assert.equal(table(rows, columns), 'a\t1\nbb\t22\n');
    assert.equal(keyValues([['job', 'x (1)'], ['attempts', ['#1 exit 0', '#2 exit 1']], ['none', undefined]]), 'job\tx (1)\nattempts\t#1 exit 0\t#2 exit 1\n');
  });

  test('json is what each command’s --json gives', () => {
    setOutputFormat('json');
    assert.equal(wantsJson(), true);
    setOutputFormat('table');
    assert.equal(wantsJson({ json: true }), true);
  });

  test('anything else is refused, naming the formats', () => {
    assert.throws(() => setOutputFormat('yaml'), /--output must be table, text, json \(got 'yaml'\)/);
  });
});

describe('time format', () => {
  test('a full time is local, ISO-like, with the zone, and reads back as the same instant', () => {
    const ms = Date.UTC(2026, 10, 25, 7, 13, 9);
    const text = formatTime(ms);
    assert.match(text, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d$/);
    assert.equal(Date.parse(text), ms);
    assert.equal(text.slice(-6), zoneOffset(new Date(ms)));
  });

  test('a short time is the time of day today and the day and minute otherwise', () => {
    const now = new Date(2026, 10, 25, 12, 0, 0).getTime();
    assert.equal(formatShortTime(new Date(2026, 10, 25, 7, 13, 9).getTime(), now), '07:13:09');
    assert.equal(formatShortTime(new Date(2026, 10, 24, 7, 13, 9).getTime(), now), '2026-11-24 07:13');
  });
});
