// The HTTP side of the web UI, against the real binary: how the embedded
// bundle is served, and the label-values and volume endpoints behind it.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { push, startServer } from './harness.mjs';

async function get(server, path, headers = {}) {
  const res = await fetch(server.url + path, { headers });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, text: body.toString('utf8') };
}

describe('the embedded bundle', () => {
  let server;
  before(async () => {
    server = await startServer({ apiKey: 'sekret' });
  });
  after(async () => server?.stop());

  test('index.html is served at / without a key, uncached, with a CSP', async () => {
    const r = await get(server, '/', { 'Accept-Encoding': 'identity' });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(r.headers.get('cache-control'), 'no-cache');
    assert.match(r.headers.get('content-security-policy'), /default-src 'self'/);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
    assert.match(r.text, /<div id="app"><\/div>/);
  });

  test('hashed assets have their content type and a year-long immutable cache', async () => {
    const index = (await get(server, '/')).text;
    const js = /src="(\/assets\/app-[A-Z0-9]+\.js)"/.exec(index)?.[1];
    const css = /href="(\/assets\/app-[A-Z0-9]+\.css)"/.exec(index)?.[1];
    assert.ok(js && css, index);
    for (const [path, type] of [
      [js, 'text/javascript; charset=utf-8'],
      [css, 'text/css; charset=utf-8'],
    ]) {
      const r = await get(server, path, { 'Accept-Encoding': 'identity' });
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), type);
      assert.equal(r.headers.get('cache-control'), 'public, max-age=31536000, immutable');
      assert.equal(r.headers.get('content-encoding'), null);
      assert.equal(r.headers.get('vary'), 'Accept-Encoding');
    }
  });

  test('gzip is sent only to clients that accept it, and inflates to the same bytes', async () => {
    const index = (await get(server, '/')).text;
    const js = /src="(\/assets\/app-[A-Z0-9]+\.js)"/.exec(index)[1];
    const plain = await get(server, js, { 'Accept-Encoding': 'identity' });
    // node:http, not fetch: fetch would inflate the body itself.
    const raw = await new Promise((resolve, reject) => {
      http
        .get(server.url + js, { headers: { 'Accept-Encoding': 'br, gzip;q=0.8' } }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        })
        .on('error', reject);
    });
    assert.equal(raw.headers['content-encoding'], 'gzip');
    assert.ok(raw.body.length < plain.body.length / 2, `gzip ${raw.body.length} vs ${plain.body.length} bytes`);
    assert.deepEqual(gunzipSync(raw.body), plain.body);
    const refused = await get(server, js, { 'Accept-Encoding': 'gzip;q=0, *' });
    assert.equal(refused.headers.get('content-encoding'), null);
  });

  test('unknown paths outside /api/ fall back to index.html; /api/ paths do not', async () => {
    for (const path of ['/explore', '/some/deep/link?q=x', '/assets/nope.js', '/index.html.gz', '/../../etc/passwd']) {
      const r = await get(server, path);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), 'text/html; charset=utf-8', path);
      assert.equal(r.headers.get('cache-control'), 'no-cache', path);
      assert.match(r.text, /<div id="app">/, path);
    }
    const api = await get(server, '/api/v1/nothing', { Authorization: 'Bearer sekret' });
    assert.equal(api.status, 404);
    assert.equal(JSON.parse(api.text).status, 'error');
  });

  test('HEAD answers headers only; other methods are 405', async () => {
    const identity = { 'accept-encoding': 'identity' };
    const head = await fetch(server.url + '/', { method: 'HEAD', headers: identity });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-type'), 'text/html; charset=utf-8');
    const get = await fetch(server.url + '/', { headers: identity });
    const page = await get.arrayBuffer();
    assert.equal(head.headers.get('content-length'), String(page.byteLength));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
    const post = await fetch(server.url + '/', { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  test('the new endpoints need the key like every other read', async () => {
    for (const path of ['/api/v1/label/app/values', '/api/v1/volume']) {
      const r = await get(server, path);
      assert.equal(r.status, 401, path);
      assert.match(r.headers.get('www-authenticate'), /Bearer/);
      const ok = await get(server, path, { Authorization: 'Bearer sekret' });
      assert.equal(ok.status, 200, path);
    }
  });
});

describe('label values and volume', () => {
  let server;
  const now = Date.now();
  const nsStr = (ms) => `${BigInt(Math.floor(ms)) * 1000000n}`;
  before(async () => {
    server = await startServer();
    await push(server, [
      { labels: { app: 'web', env: 'prod' }, lines: [0, 1, 2, 3, 4, 5].map((i) => [now - 60_000 + i * 10_000, `web line ${i} ${i % 2 ? 'timeout' : 'ok'}`]) },
      { labels: { app: 'api', env: 'dev' }, lines: [[now - 30_000, 'api line']] },
      { labels: { app: 'old' }, lines: [[now - 3 * 3_600_000, 'old line']] },
      { labels: { app: 'meta' }, lines: [[now - 4_000, 'traced', { trace_id: 'abc' }], [now - 3_000, 'other', { trace_id: 'def' }]] },
    ]);
    // Flush and compact, so that values and counts come from files as well as the head.
    await fetch(`${server.url}/api/v1/admin/compact`, { method: 'POST' });
    await push(server, [{ labels: { app: 'fresh', env: 'prod' }, lines: [[now - 5_000, 'fresh line timeout']] }]);

  });
  after(async () => server?.stop());

  const json = async (path) => {
    const r = await get(server, path);
    return { status: r.status, body: JSON.parse(r.text) };
  };

  test('label values are distinct, sorted, and narrowed by window and selector', async () => {
    assert.deepEqual((await json('/api/v1/label/app/values')).body.data, ['api', 'fresh', 'meta', 'old', 'web']);
    const recent = await json(`/api/v1/label/app/values?start=${nsStr(now - 3_600_000)}&end=${nsStr(now)}`);
    assert.deepEqual(recent.body.data, ['api', 'fresh', 'meta', 'web']);
    const prod = await json(`/api/v1/label/app/values?query=${encodeURIComponent('{env="prod"}')}`);
    assert.deepEqual(prod.body.data, ['fresh', 'web']);
    assert.deepEqual((await json('/api/v1/label/nosuch/values')).body.data, []);
    assert.equal((await json('/api/v1/label/app/values')).body.truncated, false);
  });

  test('label values reject a bad name, time or selector with 400', async () => {
    assert.equal((await json('/api/v1/label/1bad/values')).status, 400);
    assert.equal((await json('/api/v1/label/app/values?start=yesterday')).status, 400);
    const sel = await json(`/api/v1/label/app/values?query=${encodeURIComponent('{app=}')}`);
    assert.equal(sel.status, 400);
    assert.match(sel.body.error, /^1:6: /);
  });

  test('volume counts matching rows per step across head and files', async () => {
    const start = now - 60_000;
    const q = (query) =>
      json(`/api/v1/volume?query=${encodeURIComponent(query)}&start=${nsStr(start)}&end=${nsStr(now)}&step=10s`);
    const all = (await q('{app=~".+"}')).body.data;
    assert.equal(all.counts.length, 6);
    assert.equal(all.step, 10_000_000_000);
    assert.equal(all.total, 10); // six web lines, api, fresh, two meta
    assert.equal(all.truncated, false);
    assert.deepEqual(all.counts, [1, 1, 1, 2, 1, 4]);
    // Label filter stages count only the entries they admit.
    assert.equal((await q('{app="meta"} | trace_id="abc"')).body.data.total, 1);
    const timeouts = (await q('{app=~".+"} |= "timeout"')).body.data;
    assert.equal(timeouts.total, 4);
    const web = (await q('{app="web"}')).body.data;
    assert.deepEqual(web.counts, [1, 1, 1, 1, 1, 1]);
    // RFC 3339 times and a duration step; an empty query counts everything.
    const iso = (ms) => new Date(ms).toISOString();
    const r = await json(`/api/v1/volume?start=${iso(now - 4 * 3_600_000)}&end=${iso(now + 1000)}&step=1h`);
    assert.equal(r.body.data.total, 11);
    assert.equal(r.body.data.counts.length, 5);
  });

  test('volume rejects too many steps and bad parameters with 400', async () => {
    const tooMany = await json(`/api/v1/volume?start=${nsStr(now - 3_600_000)}&end=${nsStr(now)}&step=1s`);
    assert.equal(tooMany.status, 400);
    assert.match(tooMany.body.error, /at most 1000/);
    assert.equal((await json('/api/v1/volume?step=-5s')).status, 400);
    assert.equal((await json('/api/v1/volume?step=often')).status, 400);
    assert.equal((await json(`/api/v1/volume?start=${nsStr(now)}&end=${nsStr(now - 1000)}`)).status, 400);
    const bad = await json(`/api/v1/volume?query=${encodeURIComponent('{app="web"} |=')}`);
    assert.equal(bad.status, 400);
    assert.match(bad.body.error, /^1:\d+: /);
    assert.equal((await json('/api/v1/volume?query=%zz')).status, 400);
  });
});
