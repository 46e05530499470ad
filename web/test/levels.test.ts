import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricData } from '../src/api';
import { levelBuckets, levelOf } from '../src/levels';
import { chartSeries, seriesName } from '../src/components/MetricChart';

test('levelOf prefers the level label, then detected_level, and normalises', () => {
  assert.equal(levelOf({ level: 'ERROR', detected_level: 'info' }), 'error');
  assert.equal(levelOf({ detected_level: 'warning' }), 'warn');
  assert.equal(levelOf({ detected_level: 'fatal' }), 'critical');
  assert.equal(levelOf({ detected_level: 'dbg' }), 'debug');
  assert.equal(levelOf({}), 'unknown');
  assert.equal(levelOf({ level: 'notice' }), 'info');
});

test('levelBuckets puts a point at t into the bar that ends at t', () => {
  const data: MetricData = {
    resultType: 'matrix',
    result: [
      { metric: { detected_level: 'error' }, values: [[60, '2'], [120, '1']] as [number, string][] },
      { metric: { level: 'info' }, values: [[120, '5']] as [number, string][] },
      { metric: { detected_level: 'info' }, values: [[600, '9']] as [number, string][] }, // outside
    ],
  };
  const b = levelBuckets(data, 0, 60_000, 3);
  assert.deepEqual(b, [{ error: 2 }, { error: 1, info: 5 }, {}]);
});

test('chartSeries turns matrix points into milliseconds and names series like LogQL', () => {
  const s = chartSeries({ resultType: 'matrix', result: [{ metric: { app: 'web', level: 'x' }, values: [[1.5, '3']] }] });
  assert.deepEqual(s[0].points, [[1500, 3]]);
  assert.equal(s[0].name, '{app="web", level="x"}');
  assert.equal(seriesName({}), '{}');
  assert.deepEqual(chartSeries({ resultType: 'vector', result: [{ metric: {}, value: [2, '1'] }] })[0].points, [[2000, 1]]);
});
