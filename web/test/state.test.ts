import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_STATE, ViewState, chooseStep, describeDuration, msToNs, narrowRange, parseDuration, resolveRange, stateFromSearch,
  stateToSearch, widenRange,
} from '../src/state';

test('a view survives the URL round trip', () => {
  const views: ViewState[] = [
    DEFAULT_STATE,
    { query: '{app="web"} |= "time out" or `a&b`', range: { kind: 'relative', duration: '15m' }, limit: 1000 },
    { query: '{env=~"prod|stage"}', range: { kind: 'absolute', startMs: 1780000000123, endMs: 1780003600456 }, limit: 5000 },
    { query: 'ünïcode ✓ #?%', range: { kind: 'relative', duration: '7d' }, limit: 100 },
  ];
  for (const v of views) assert.deepEqual(stateFromSearch(stateToSearch(v)), v);
});

test('malformed URL parts fall back to defaults', () => {
  assert.deepEqual(stateFromSearch('?since=banana&limit=7'), DEFAULT_STATE);
  assert.deepEqual(stateFromSearch('?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z').range, DEFAULT_STATE.range);
  assert.deepEqual(stateFromSearch('').range, { kind: 'relative', duration: '1h' });
  assert.equal(stateFromSearch('?q=%7Ba%3D%22b%22%7D').query, '{a="b"}');
});

test('the default view has a short URL', () => {
  assert.equal(stateToSearch(DEFAULT_STATE), '?since=1h');
});

test('parseDuration and describeDuration', () => {
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('7d'), 604_800_000);
  for (const bad of ['', '5', 'm', '5x', '0s', '1h 2m', '-1h']) assert.equal(parseDuration(bad), null, bad);
  assert.equal(describeDuration('1h'), 'Last 1 hour');
  assert.equal(describeDuration('15m'), 'Last 15 minutes');
});

test('resolveRange and nanosecond strings', () => {
  assert.deepEqual(resolveRange({ kind: 'relative', duration: '5m' }, 1_000_000), { startMs: 700_000, endMs: 1_000_000 });
  assert.equal(msToNs(1780000000123), '1780000000123000000');
  assert.equal(msToNs(1780000000123.9), '1780000000123000000');
});

test('narrowing and widening the window', () => {
  assert.deepEqual(narrowRange(1000, 2000, 0.75, 0.25), { kind: 'absolute', startMs: 1250, endMs: 1750 });
  assert.deepEqual(narrowRange(1000, 2000, -1, 0), { kind: 'absolute', startMs: 1000, endMs: 1001 });
  assert.deepEqual(widenRange(1000, 2000, 10_000), { kind: 'absolute', startMs: 500, endMs: 2500 });
  assert.deepEqual(widenRange(1000, 2000, 2000), { kind: 'absolute', startMs: 0, endMs: 2000 });
});

test('chooseStep keeps the histogram at most 120 round bars', () => {
  assert.equal(chooseStep(3_600_000), 30_000);
  assert.equal(chooseStep(300_000), 5000);
  assert.equal(chooseStep(604_800_000), 7_200_000);
  assert.equal(chooseStep(50), 1);
  for (const span of [1, 999, 60_000, 86_400_000, 30 * 86_400_000]) assert.ok(span / chooseStep(span) <= 120, String(span));
});
