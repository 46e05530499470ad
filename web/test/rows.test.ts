import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Row, commonLabels, mergeTail, rowMs } from '../src/rows';
import { HISTORY_CAP, withEntry } from '../src/history';
import { effectiveTheme, toggledPreference } from '../src/theme';
import { computeOffsets, visibleRange } from '../src/virtual';
import { highlightSegments, makeHighlighter } from '../src/highlight';
import { lineFiltersOf } from '../src/logql';
import { fromLocalInput, prettyJson, toLocalInput } from '../src/format';

let id = 0;
const row = (ts: number, line: string, labels: Record<string, string> = { app: 'web' }): Row => ({ id: ++id, tsNs: ts, line, labels });

test('mergeTail adds only new rows, newest first, and caps the buffer', () => {
  const existing = [row(30, 'c'), row(20, 'b'), row(10, 'a')];
  const r = mergeTail(existing, [row(40, 'd'), row(30, 'c'), row(30, 'c2')]);
  // New rows go before old ones of the same timestamp.
  assert.deepEqual(r.rows.map((x) => x.line), ['d', 'c2', 'c', 'b', 'a']);
  assert.equal(r.added, 2);
  assert.equal(mergeTail(existing, []).added, 0);
  const capped = mergeTail(existing, [row(50, 'e'), row(40, 'd')], 3);
  assert.deepEqual(capped.rows.map((x) => x.line), ['e', 'd', 'c']);
});

test('commonLabels keeps labels every row shares', () => {
  assert.deepEqual(commonLabels([row(1, 'a', { app: 'web', env: 'p' }), row(2, 'b', { app: 'web', env: 'd' })]), { app: 'web' });
  assert.deepEqual(commonLabels([]), {});
});

test('history is most-recent-first, without duplicates, capped', () => {
  let h: string[] = [];
  for (let i = 0; i < HISTORY_CAP + 5; i++) h = withEntry(h, `q${i}`);
  assert.equal(h.length, HISTORY_CAP);
  h = withEntry(h, 'q10');
  assert.equal(h[0], 'q10');
  assert.equal(h.filter((x) => x === 'q10').length, 1);
  assert.equal(withEntry(h, '   '), h);
});

test('theme follows the system until toggled, and a toggle back forgets the choice', () => {
  assert.equal(effectiveTheme(null, true), 'dark');
  assert.equal(effectiveTheme('light', true), 'light');
  assert.equal(toggledPreference('dark', true), 'light');
  assert.equal(toggledPreference('light', true), null);
  assert.equal(toggledPreference('light', false), 'dark');
});

test('virtual list shows only the rows in view plus overscan', () => {
  const offsets = computeOffsets(5000, (i) => (i === 2 ? 100 : 20));
  assert.equal(offsets[5000], 4999 * 20 + 100);
  assert.deepEqual(visibleRange(offsets, 0, 200, 0), [0, 6]);
  assert.deepEqual(visibleRange(offsets, 10_000, 400, 5), [496 - 5, 516 + 5]);
  assert.deepEqual(visibleRange(offsets, 1e9, 400, 5), [4994, 5000]);
  assert.deepEqual(visibleRange(computeOffsets(0, () => 20), 0, 400, 5), [0, 0]);
});

test('highlighting marks |= alternatives and |~ matches but not negative filters', () => {
  const h = makeHighlighter(lineFiltersOf('{a="b"} |= "err" or "time" != "x" |~ `\\d+ms`'));
  const segs = highlightSegments('error after 12ms: timeout x', h);
  assert.deepEqual(segs.filter((s) => s.match).map((s) => s.text), ['err', '12ms', 'time']);
  assert.equal(segs.map((s) => s.text).join(''), 'error after 12ms: timeout x');
  assert.deepEqual(highlightSegments('', h), [{ text: '', match: false }]);
  const ci = makeHighlighter(lineFiltersOf('|~ "(?i)warn"'));
  assert.deepEqual(highlightSegments('WARN', ci), [{ text: 'WARN', match: true }]);
});

test('JSON lines pretty-print; other lines do not', () => {
  assert.equal(prettyJson('{"a":1,"b":[true]}'), '{\n  "a": 1,\n  "b": [\n    true\n  ]\n}');
  assert.equal(prettyJson('{not json}'), null);
  assert.equal(prettyJson('plain text'), null);
});

test('datetime-local values round-trip in local time', () => {
  const ms = new Date(2026, 5, 1, 14, 3, 7).getTime();
  assert.equal(toLocalInput(ms), '2026-06-01T14:03:07');
  assert.equal(fromLocalInput('2026-06-01T14:03:07'), ms);
  assert.equal(fromLocalInput('2026-06-01T14:03'), ms - 7000);
  assert.ok(Number.isNaN(fromLocalInput('')));
});

test('rowMs gives the millisecond of a nanosecond stamp that lost precision in JSON', () => {
  // 1796552642306 ms as ns does not fit a double: JSON.parse gives a value
  // just below it, which a plain division would show as .305.
  const parsed = JSON.parse('1796552642306000000');
  assert.ok(parsed / 1e6 < 1796552642306);
  assert.equal(rowMs(row(parsed, 'x')), 1796552642306);
  assert.equal(rowMs(row(JSON.parse('1796552642305999000'), 'x')), 1796552642305);
  assert.equal(rowMs(row(JSON.parse('1796552642305000000'), 'x')), 1796552642305);
});
