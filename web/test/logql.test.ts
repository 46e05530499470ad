import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addMatcher, byteColumnToIndex, decodeString, lineFiltersOf, matchersOf, parseErrorPosition, tokenize } from '../src/logql';

test('tokenize classifies every part of a full selector', () => {
  const kinds = tokenize('{app="web", env=~"p.*"} |= "x" or `y` != "z"')
    .filter((t) => t.kind !== 'space')
    .map((t) => `${t.kind}:${t.text}`);
  assert.deepEqual(kinds, [
    'brace:{', 'label:app', 'op:=', 'string:"web"', 'comma:,', 'label:env', 'op:=~', 'string:"p.*"', 'brace:}',
    'pipe:|=', 'string:"x"', 'keyword:or', 'string:`y`', 'pipe:!=', 'string:"z"',
  ]);
});

test('tokenize reads label filter stages after the selector', () => {
  const kinds = tokenize('{app="web"} | level="error" |= "x" | trace_id=~`a.*`')
    .filter((t) => t.kind !== 'space' && !t.inBraces && t.kind !== 'brace')
    .map((t) => `${t.kind}:${t.text}`);
  assert.deepEqual(kinds, [
    'pipe:|', 'label:level', 'op:=', 'string:"error"', 'pipe:|=', 'string:"x"', 'pipe:|', 'label:trace_id', 'op:=~', 'string:`a.*`',
  ]);
  assert.deepEqual(matchersOf('{app="web"} | level="error"').map((m) => m.name), ['app']);
  assert.deepEqual(lineFiltersOf('{app="web"} | level="error" != "x"'), [{ kind: 'not-contains', values: ['x'] }]);
  assert.equal(addMatcher('{app="web"} | env="x"', 'env', 'prod'), '{app="web", env="prod"} | env="x"');
});

test('tokenize never fails on partial or garbage input and covers every character', () => {
  for (const src of ['{', '{app', '{app=', '{app="we', '"\\', '|= "a', '}}}', '{a="b"} |', '#$%', '{a="b\\"c', '`raw\nline']) {
    const tokens = tokenize(src);
    assert.equal(tokens.map((t) => t.text).join(''), src, src);
  }
  assert.equal(tokenize('{app="we').at(-1)?.unterminated, true);
});

test('decodeString reads Go escapes and raw strings', () => {
  assert.equal(decodeString('"a\\"b\\\\c\\n"'), 'a"b\\c\n');
  assert.equal(decodeString('"\\u00e9"'), 'é');
  assert.equal(decodeString('`a\\b`'), 'a\\b');
  assert.equal(decodeString('"unterminated'), 'unterminated');
});

test('addMatcher appends, replaces, skips duplicates and creates braces', () => {
  const check = (src: string, want: string) => assert.equal(addMatcher(src, 'env', 'prod'), want, src);
  check('{app="web"}', '{app="web", env="prod"}');
  check('{app="web" }', '{app="web", env="prod"}');
  check('{}', '{env="prod"}');
  check('{app="web"} |= "x"', '{app="web", env="prod"} |= "x"');
  check('{env="dev"} |= "x"', '{env="prod"} |= "x"');
  check('{env="prod"}', '{env="prod"}');
  check('', '{env="prod"}');
  check('|= "timeout"', '{env="prod"} |= "timeout"');
  check('{app="web",', '{app="web",env="prod"}');
  assert.equal(addMatcher('{a="b"}', 'msg', 'say "hi"'), '{a="b", msg="say \\"hi\\""}');
});

test('matchersOf and lineFiltersOf read the parts of a query', () => {
  assert.deepEqual(
    matchersOf('{app="web", env!~"d.*"}').map((m) => [m.name, m.op, m.value]),
    [['app', '=', 'web'], ['env', '!~', 'd.*']],
  );
  assert.deepEqual(lineFiltersOf('{a="b"} |= "x" or "y" != "z" |~ `\\d+`'), [
    { kind: 'contains', values: ['x', 'y'] },
    { kind: 'not-contains', values: ['z'] },
    { kind: 'regex', values: ['\\d+'] },
  ]);
});

test('parseErrorPosition maps the server byte column onto the query', () => {
  const e = parseErrorPosition('{app="web"} |= ', '1:16: expected string after |=');
  assert.deepEqual(e, { line: 1, col: 16, message: 'expected string after |=', index: 15 });
  assert.equal(parseErrorPosition('x', 'no position here'), null);
  // "é" is two bytes: byte column 5 is the fourth character.
  assert.equal(byteColumnToIndex('{é="', 1, 5), 3);
  assert.equal(byteColumnToIndex('{a="b"}\n|= x', 2, 4), 11);
});

test('metric queries are told from log queries, and clicks build label filters and the level volume', async () => {
  const { isMetricQuery, addLabelFilter, levelVolumeQuery } = await import('../src/logql');
  for (const q of ['sum(rate({app="web"}[1m]))', 'count_over_time({a="b"}[5m])', '  topk(3, x)', '42']) assert.ok(isMetricQuery(q), q);
  for (const q of ['', '{app="web"}', ' |= "x"', '!= "y"', '{a="b"} | json']) assert.ok(!isMetricQuery(q), q);
  assert.equal(addLabelFilter('{app="web"} | json', 'status', '500'), '{app="web"} | json | status="500"');
  assert.equal(addLabelFilter('', 'a', 'x"y'), '{} | a="x\\"y"');
  assert.equal(levelVolumeQuery('{app="web"} |= "x"', 60_000),
    'sum by (level, detected_level) (count_over_time({app="web"} |= "x" | drop __error__ [60s]))');
  assert.equal(levelVolumeQuery('', 30_000), 'sum by (level, detected_level) (count_over_time({} | drop __error__ [30s]))');
  assert.equal(levelVolumeQuery('|= "x"', 500), 'sum by (level, detected_level) (count_over_time({} |= "x" | drop __error__ [1s]))');
});
