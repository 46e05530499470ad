import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applySuggestion, completionContext, rankByPrefix, suggest } from '../src/completion';

const LABELS = ['app', 'env', 'host', 'level'];

// Type `src` with the cursor at ‸ and accept the first suggestion.
function accept(srcWithCursor: string, values: string[] = []): string {
  const cursor = srcWithCursor.indexOf('‸');
  const src = srcWithCursor.slice(0, cursor) + srcWithCursor.slice(cursor + 1);
  const s = suggest(completionContext(src, cursor), LABELS, values)[0];
  assert.ok(s, `no suggestion for ${srcWithCursor}`);
  const r = applySuggestion(src, s);
  return r.text.slice(0, r.cursor) + '‸' + r.text.slice(r.cursor);
}

test('completion contexts by cursor position', () => {
  const check = (src: string, want: Record<string, unknown>) => {
    const cursor = src.indexOf('‸');
    const ctx = completionContext(src.slice(0, cursor) + src.slice(cursor + 1), cursor);
    for (const [k, v] of Object.entries(want)) assert.deepEqual((ctx as Record<string, unknown>)[k], v, `${src} ${k}`);
  };
  check('‸', { kind: 'start' });
  check('{‸', { kind: 'label-name', prefix: '' });
  check('{ap‸', { kind: 'label-name', prefix: 'ap' });
  check('{app="web", e‸}', { kind: 'label-name', prefix: 'e' });
  check('{app=‸', { kind: 'label-value', label: 'app', prefix: '', closeBrace: true });
  check('{app="w‸', { kind: 'label-value', label: 'app', prefix: 'w', closeBrace: true });
  check('{app="w‸eb"}', { kind: 'label-value', label: 'app', prefix: 'w', closeBrace: false });
  check('{app="web"} ‸', { kind: 'line-filter' });
  check('{app="web"} |= "x" ‸', { kind: 'line-filter' });
  check('{app="web"} |= "ti‸', { kind: 'none' });
  check('{app="web"‸', { kind: 'none' });
  check('{app="web"} | ‸', { kind: 'label-name', prefix: '' });
  check('{app="web"} | le‸', { kind: 'label-name', prefix: 'le' });
  check('{app="web"} | level="e‸', { kind: 'label-value', label: 'level', prefix: 'e', closeBrace: false });
});

test('accepting suggestions builds a selector step by step', () => {
  assert.equal(accept('{‸'), '{app="‸"');
  assert.equal(accept('{app="‸"', ['web', 'api']), '{app="web"‸}');
  assert.equal(accept('{app="a‸"}', ['web', 'api']), '{app="api"‸}');
  assert.equal(accept('{app=‸', ['web']), '{app="web"‸}');
  assert.equal(accept('{le‸="x"}'), '{level‸="x"}');
  assert.equal(accept('{app="web"}‸'), '{app="web"} |= "‸"');
  assert.equal(accept('‸'), '{app="‸"}');
  assert.equal(accept('{app="web"} | le‸'), '{app="web"} | level="‸"');
  assert.equal(accept('{app="web"} | level="‸"', ['error']), '{app="web"} | level="error"‸');
});

test('label values with quotes are escaped when inserted', () => {
  assert.equal(accept('{app=‸', ['say "hi"']), '{app="say \\"hi\\""‸}');
});

test('rankByPrefix puts prefix matches before substring matches, case-insensitively', () => {
  assert.deepEqual(rankByPrefix(['api-gw', 'web', 'webapp', 'Web2', 'nginx'], 'we'), ['web', 'webapp', 'Web2']);
  assert.deepEqual(rankByPrefix(['api-gw', 'gateway', 'nginx'], 'g'), ['gateway', 'api-gw', 'nginx']);
  assert.deepEqual(rankByPrefix(['b', 'a'], ''), ['b', 'a']);
});

test('the empty query offers history first, then labels', () => {
  const s = suggest(completionContext('', 0), ['app'], [], ['{app="web"}']);
  assert.deepEqual(s.map((x) => x.label), ['{app="web"}', 'app']);
});
