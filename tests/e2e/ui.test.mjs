// The web UI in a real headless Chromium against the real server: what a
// person does with it, step by step. Screenshots go to $LOGE_E2E_ARTIFACTS.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { openBrowser, push, screenshot, startServer, waitFor } from './harness.mjs';

const rowLines = (page) => page.$$eval('.row .row-line', (els) => els.map((e) => e.textContent));
const rowTimes = (page) => page.$$eval('.row time', (els) => els.map((e) => Date.parse(e.getAttribute('datetime'))));
const queryText = (page) => page.inputValue('.qb-input');
const status = (page) => page.textContent('.toolbar .status');

async function waitForStatus(page, re) {
  await waitFor(async () => re.test((await status(page)) ?? ''), `status ${re}`);
}

// Local time as the UI shows it: "2026-06-01 14:03:07.123".
function localStamp(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

describe('exploring logs', () => {
  let server;
  const now = Date.now();
  // web: a line every 25 s over the last 50 minutes, every tenth one a JSON
  // error. The tests ask for the last hour: the oldest line stays inside it
  // for 10 minutes of a slow run (at 30 s it left after 29 s, on a busy
  // machine before the last test).
  const webLines = Array.from({ length: 120 }, (_, i) => [
    now - 1000 - i * 25_000,
    i % 10 === 0 ? JSON.stringify({ level: 'error', msg: 'upstream timeout', attempt: i }) : `GET /api/users/${i} 200 ${i}ms`,
  ]);
  const apiLines = Array.from({ length: 20 }, (_, i) => [now - 2000 - i * 30_000, `worker ${i} started`]);

  before(async () => {
    server = await startServer();
    await push(server, [
      { labels: { app: 'web', env: 'prod' }, lines: webLines },
      { labels: { app: 'api', env: 'dev' }, lines: apiLines },
    ]);
  });
  after(async () => server?.stop());

  test('typing a query and pressing Ctrl+Enter shows the matching rows, newest first, in local time', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/`);
      await page.click('.qb-input');
      await page.keyboard.type('{app="web"} |= "timeout"');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Control+Enter');
      await waitForStatus(page, /^12 lines/);
      const lines = await rowLines(page);
      assert.equal(lines.length, 12);
      assert.ok(lines.every((l) => l.includes('upstream timeout')));
      const times = await rowTimes(page);
      assert.deepEqual(times, [...times].sort((a, b) => b - a), 'newest first');
      assert.equal(await page.textContent('.row time'), localStamp(webLines[0][0]));
      assert.equal(await page.textContent('.row mark'), 'timeout');
      const url = new URL(page.url());
      assert.equal(url.searchParams.get('q'), '{app="web"} |= "timeout"');
      assert.equal(url.searchParams.get('since'), '1h');
      // The query bar colours the selector's parts.
      assert.equal(await page.textContent('.qb-hl .tk-label'), 'app');
      assert.equal(await page.textContent('.qb-hl .tk-pipe'), '|=');
      await screenshot(page, 'query-results-light');
      assert.deepEqual(b.errors, []);
    } finally {
      await b.close();
    }
  });

  test('a shared link reopens the same query and window', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      const from = new Date(now - 10 * 60_000).toISOString();
      const to = new Date(now).toISOString();
      await page.goto(`${server.url}/?q=${encodeURIComponent('{app="api"}')}&from=${from}&to=${to}`);
      await waitForStatus(page, /^\d+ lines/);
      assert.equal(await queryText(page), '{app="api"}');
      assert.match(await page.textContent('.tp-button'), /→/);
      const times = await rowTimes(page);
      assert.ok(times.length > 0 && times.every((t) => t >= Date.parse(from) && t <= Date.parse(to)));
    } finally {
      await b.close();
    }
  });

  test('clicking a label chip adds it to the query and runs it', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/?since=1h`);
      await waitForStatus(page, /^140 lines/);
      await page.locator('button[aria-label="Filter by env=dev"]').first().click();
      await waitForStatus(page, /^20 lines/);
      assert.equal(await queryText(page), '{env="dev"}');
      assert.equal(new URL(page.url()).searchParams.get('q'), '{env="dev"}');
      await page.locator('button[aria-label="Filter by app=api"]').first().click();
      await waitFor(async () => (await queryText(page)) === '{env="dev", app="api"}', 'second matcher');
      await waitForStatus(page, /^20 lines/);
      // Back goes to the previous query.
      await page.goBack();
      await waitFor(async () => (await queryText(page)) === '{env="dev"}', 'query after Back');
    } finally {
      await b.close();
    }
  });

  test('dragging across the histogram narrows the window to the dragged span', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/?q=${encodeURIComponent('{app="web"}')}&since=1h`);
      await waitForStatus(page, /^120 lines/);
      await page.waitForSelector('.hist-bar');
      const box = await page.locator('[data-testid="histogram"]').boundingBox();
      const y = box.y + box.height / 2;
      await page.mouse.move(box.x + box.width * 0.5, y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.62, y, { steps: 4 });
      await page.mouse.move(box.x + box.width * 0.75, y, { steps: 4 });
      await page.waitForSelector('.hist-sel');
      await screenshot(page, 'histogram-drag');
      await page.mouse.up();
      await waitFor(() => new URL(page.url()).searchParams.has('from'), 'an absolute window in the URL');
      const url = new URL(page.url());
      const from = Date.parse(url.searchParams.get('from'));
      const to = Date.parse(url.searchParams.get('to'));
      // A quarter of the hour: about 15 minutes, about 30 lines.
      assert.ok(Math.abs(to - from - 15 * 60_000) < 60_000, `window ${to - from} ms`);
      await waitForStatus(page, /^(2\d|3\d) lines/);
      const times = await rowTimes(page);
      assert.ok(times.every((t) => t >= from && t <= to + 1));
      assert.match(await page.textContent('.tp-button'), /→/);
      // Zoom out widens it again.
      await page.click('text=Zoom out');
      await waitFor(() => Date.parse(new URL(page.url()).searchParams.get('to')) - Date.parse(new URL(page.url()).searchParams.get('from')) > 25 * 60_000, 'wider window');
    } finally {
      await b.close();
    }
  });

  test('the query bar completes label names and values', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/?since=1h`);
      await waitForStatus(page, /lines/);
      await page.click('.qb-input');
      await page.keyboard.type('{');
      await page.waitForSelector('#qb-suggestions');
      const names = await page.$$eval('#qb-suggestions [role=option] .qb-opt-label', (els) => els.map((e) => e.textContent));
      assert.deepEqual(names, ['app', 'env']);
      await page.keyboard.type('a');
      await page.keyboard.press('Enter');
      assert.equal(await queryText(page), '{app=""');
      await waitFor(
        async () => (await page.$$eval('#qb-suggestions [role=option] .qb-opt-label', (els) => els.map((e) => e.textContent))).join() === 'api,web',
        'values of app',
      );
      await page.keyboard.type('w');
      await screenshot(page, 'autocomplete');
      await page.keyboard.press('Enter');
      assert.equal(await queryText(page), '{app="web"}');
      await page.keyboard.press('Enter');
      await waitForStatus(page, /^120 lines/);
    } finally {
      await b.close();
    }
  });

  test('a bad query shows the parser message and marks its position', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/`);
      await page.fill('.qb-input', '{app="web"} |=');
      await page.keyboard.press('Escape');
      await page.click('button.run');
      await page.waitForSelector('#query-error');
      assert.match(await page.textContent('#query-error'), /line 1, column 15: expected string after \|=/);
      assert.equal(await page.getAttribute('.qb-input', 'aria-invalid'), 'true');
      assert.equal(await page.locator('.qb-hl .tk-err').count(), 1);
      await screenshot(page, 'query-error');
    } finally {
      await b.close();
    }
  });

  test('wrap toggles line wrapping and a JSON line expands pretty-printed', async () => {
    const b = await openBrowser({ viewport: { width: 900, height: 700 } });
    try {
      const { page } = b;
      await page.goto(`${server.url}/?q=${encodeURIComponent('{app="web"} |= "timeout"')}&since=1h`);
      await waitForStatus(page, /^12 lines/);
      assert.equal(await page.locator('.results.wrap').count(), 0);
      await page.getByLabel('Wrap lines').check();
      assert.equal(await page.locator('.results.wrap').count(), 1);
      await page.locator('.row-toggle').first().click();
      const pretty = await page.textContent('.row-detail pre.json');
      assert.equal(pretty, JSON.stringify(JSON.parse(webLines[0][1]), null, 2));
      assert.equal(await page.textContent('.row-detail pre.json mark'), 'timeout');
      await screenshot(page, 'json-expanded');
      // Wrap is remembered.
      await page.reload();
      await waitForStatus(page, /^12 lines/);
      assert.equal(await page.locator('.results.wrap').count(), 1);
    } finally {
      await b.close();
    }
  });

  test('the keyboard reaches everything: / focuses the query, Enter runs it, arrows move through rows', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/?since=1h`);
      await waitForStatus(page, /^140 lines/);
      await page.keyboard.press('/');
      assert.equal(await page.evaluate(() => document.activeElement?.className), 'qb-input');
      await page.keyboard.type('{app="api"}');
      await page.keyboard.press('Escape');
      await page.keyboard.press('Enter');
      await waitForStatus(page, /^20 lines/);
      await page.focus('.results');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('Enter');
      await page.waitForSelector('.row.expanded');
      // Every control has an accessible name.
      const unnamed = await page.$$eval('button, input, select, textarea', (els) =>
        els.filter((e) => !(e.getAttribute('aria-label') || e.textContent.trim() || e.labels?.length)).map((e) => e.outerHTML),
      );
      assert.deepEqual(unnamed, []);
    } finally {
      await b.close();
    }
  });

  test('dark mode follows the system, and the toggle is remembered', async () => {
    const b = await openBrowser({ colorScheme: 'dark' });
    try {
      const { page } = b;
      await page.goto(`${server.url}/?q=${encodeURIComponent('{app="web"} |= "timeout"')}&since=1h`);
      await waitForStatus(page, /^12 lines/);
      const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
      assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
      assert.equal(await bg(), 'rgb(15, 20, 27)');
      await page.locator('.row-toggle').first().click();
      await screenshot(page, 'query-results-dark');
      await checkContrast(page, 'dark');
      // Preact renders the toggle's effect on its next tick: wait for it.
      const bgIs = (want) => waitFor(async () => (await bg()) === want, `background ${want}`);
      await page.click('button[aria-label="Switch to light theme"]');
      await bgIs('rgb(255, 255, 255)');
      await checkContrast(page, 'light');
      await page.reload();
      await waitForStatus(page, /^12 lines/);
      assert.equal(await page.getAttribute('html', 'data-theme'), 'light', 'the choice survives a reload');
      await page.click('button[aria-label="Switch to dark theme"]');
      await bgIs('rgb(15, 20, 27)');
      // Back to what the system says: nothing is stored, the system rules again.
      assert.equal(await page.evaluate(() => localStorage.getItem('loge.theme')), null);
    } finally {
      await b.close();
    }
  });

  test('a metric query draws a chart with a legend and the values under the pointer', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      const q = 'sum by (env) (count_over_time({env=~".+"}[5m]))';
      await page.goto(`${server.url}/?since=1h&q=${encodeURIComponent(q)}`);
      await waitForStatus(page, /^2 series/);
      assert.equal(await page.locator('.metric-line').count(), 2);
      assert.deepEqual(await page.$$eval('.metric-legend .metric-name', (els) => els.map((e) => e.textContent)), ['{env="dev"}', '{env="prod"}']);
      assert.equal(await page.locator('[data-testid="histogram"]').count(), 0, 'no histogram for a metric query');
      assert.equal(await page.locator('.row').count(), 0, 'no log rows for a metric query');
      const box = await page.locator('.metric-plot svg').boundingBox();
      await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
      await waitFor(async () => (await page.locator('.metric-tip-row').count()) >= 1, 'hover values');
      assert.match(await page.textContent('.metric-tip'), /\{env="prod"\}: \d+/);
      await screenshot(page, 'metric-chart');
    } finally {
      await b.close();
    }
  });

  test('the histogram colours its bars by level', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/?since=1h&q=${encodeURIComponent('{app="web"}')}`);
      await waitForStatus(page, /^\d+ lines/);
      // JSON lines carry level=error; the others have no level word.
      await waitFor(async () => (await page.locator('.hist-seg[data-level="error"]').count()) > 0, 'error segments');
      assert.ok((await page.locator('.hist-seg[data-level="unknown"]').count()) > 0);
    } finally {
      await b.close();
    }
  });

  test('a click on a parsed field in an expanded row adds a label filter', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/?since=1h&q=${encodeURIComponent('{app="web"} | json')}`);
      await waitForStatus(page, /^\d+ lines/);
      await page.locator('.row-toggle').first().click();
      await page.locator('button[aria-label="Filter by parsed field level=error"]').click();
      await waitFor(async () => (await queryText(page)) === '{app="web"} | json | level="error"', 'label filter added');
      await waitForStatus(page, /^1[0-2] lines/); // the JSON lines (every tenth) still in the last hour
    } finally {
      await b.close();
    }
  });
});

// WCAG contrast of the text that matters, against its actual background.
async function checkContrast(page, theme) {
  const results = await page.evaluate(() => {
    const parse = (c) => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return null;
      const [r, g, b, a = 1] = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
      return { r, g, b, a };
    };
    const lum = ({ r, g, b }) => {
      const f = (v) => {
        v /= 255;
        return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c.a > 0.5) return c;
      }
      return parse(getComputedStyle(document.body).backgroundColor);
    };
    const selectors = ['.brand', '.row-line', '.row-ts', '.chip', 'mark', '.status', 'button.primary', '.hist-axis span', '.qb-hl .tk-label', '.qb-hl .tk-string', '.qb-hl .tk-pipe', '.tp-button'];
    return selectors.map((sel) => {
      const el = document.querySelector(sel);
      if (!el) return { sel, ratio: null };
      const fg = parse(getComputedStyle(el).color);
      const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
      return { sel, ratio: (a + 0.05) / (b + 0.05) };
    });
  });
  for (const r of results) {
    assert.ok(r.ratio !== null, `${theme}: ${r.sel} not on the page`);
    assert.ok(r.ratio >= 4.5, `${theme}: ${r.sel} contrast ${r.ratio.toFixed(2)} < 4.5`);
  }
}

describe('live tail', () => {
  let server;
  before(async () => {
    server = await startServer();
    await push(server, [{ labels: { app: 'tail' }, lines: [[Date.now() - 1000, 'backlog line']] }]);
  });
  after(async () => server?.stop());

  test('a line pushed after the tail began appears; pause holds it back until resume', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/?q=${encodeURIComponent('{app="tail"}')}&since=1h`);
      await waitForStatus(page, /^1 lines/);
      await page.click('text=Live tail');
      await waitForStatus(page, /^Live/);
      await waitFor(async () => (await rowLines(page)).includes('backlog line'), 'the backlog');
      await push(server, [{ labels: { app: 'tail' }, lines: [[Date.now(), 'first live line']] }]);
      await waitFor(async () => (await rowLines(page))[0] === 'first live line', 'the pushed line on top');
      await page.click('button:has-text("Pause")');
      await waitForStatus(page, /^Tail paused/);
      await push(server, [{ labels: { app: 'tail' }, lines: [[Date.now(), 'line pushed while paused']] }]);
      await page.click('button:has-text("Resume")');
      await waitFor(async () => (await rowLines(page))[0] === 'line pushed while paused', 'the line after resume');
      assert.deepEqual(await rowLines(page), ['line pushed while paused', 'first live line', 'backlog line']);
      await screenshot(page, 'live-tail');
      await page.click('text=Stop tail');
      await page.waitForSelector('[data-testid="histogram"]');
    } finally {
      await b.close();
    }
  });

  test('5,000 rows are virtualised: few in the DOM, the last one reachable by scrolling', async () => {
    const now = Date.now();
    const lines = Array.from({ length: 5000 }, (_, i) => [now - 5000 - i * 100, `bulk line ${i} ${'x'.repeat(i % 80)}`]);
    await push(server, [{ labels: { app: 'bulk' }, lines }]);
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/?q=${encodeURIComponent('{app="bulk"}')}&since=1h&limit=5000`);
      await waitForStatus(page, /^5,000 lines/);
      let maxRows = 0;
      const t0 = Date.now();
      const steps = 60;
      for (let i = 1; i <= steps; i++) {
        await page.evaluate((f) => {
          const el = document.querySelector('.results');
          el.scrollTop = (el.scrollHeight - el.clientHeight) * f;
          return new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        }, i / steps);
        maxRows = Math.max(maxRows, await page.locator('.row').count());
      }
      const perStep = (Date.now() - t0) / steps;
      console.log(`5000 rows: at most ${maxRows} in the DOM, ${perStep.toFixed(1)} ms per scroll step`);
      assert.ok(maxRows < 150, `${maxRows} rows in the DOM`);
      await page.waitForSelector('.row[aria-posinset="5000"]');
      assert.equal(await page.textContent('.row[aria-posinset="5000"] .row-line'), lines[4999][1]);
      assert.ok(perStep < 250, `${perStep} ms per scroll step`);
    } finally {
      await b.close();
    }
  });
});

describe('API key', () => {
  let server;
  before(async () => {
    server = await startServer({ apiKey: 'open-sesame' });
    await push(server, [{ labels: { app: 'secret' }, lines: [[Date.now() - 1000, 'behind the key']] }]);
  });
  after(async () => server?.stop());

  test('a 401 asks for the key; a wrong key asks again; the right one is kept', async () => {
    const b = await openBrowser();
    try {
      const { page } = b;
      await page.goto(`${server.url}/?since=1h`);
      const dialog = page.getByRole('dialog', { name: 'API key required' });
      await dialog.waitFor();
      await page.fill('#api-key-input', 'wrong');
      await page.click('text=Save key');
      await waitFor(async () => ((await page.textContent('.key-dialog')) ?? '').includes('did not accept'), 'the rejected-key prompt');
      await screenshot(page, 'api-key-prompt');
      await page.fill('#api-key-input', 'open-sesame');
      await page.click('text=Save key');
      await waitForStatus(page, /^1 lines/);
      assert.deepEqual(await rowLines(page), ['behind the key']);
      assert.equal(await page.evaluate(() => localStorage.getItem('loge.apiKey')), 'open-sesame');
      await page.reload();
      await waitForStatus(page, /^1 lines/);
      assert.equal(await page.locator('.key-dialog').count(), 0);
      // A key that stops working brings the prompt back.
      await page.evaluate(() => localStorage.setItem('loge.apiKey', 'revoked'));
      await page.reload();
      await dialog.waitFor();
    } finally {
      await b.close();
    }
  });
});

describe('server down', () => {
  test('an unreachable server shows a banner that clears when it is back', async () => {
    let server = await startServer();
    const b = await openBrowser();
    try {
      await push(server, [{ labels: { app: 'up' }, lines: [[Date.now() - 1000, 'still here']] }]);
      const { page } = b;
      await page.goto(`${server.url}/?since=1h`);
      await waitForStatus(page, /^1 lines/);
      const { port, dataDir } = server;
      await server.stop({ keepData: true });
      await page.click('button.run');
      const banner = page.locator('.banner');
      await banner.waitFor();
      assert.match(await banner.textContent(), /Cannot reach the loge server/);
      await screenshot(page, 'server-down');
      server = await startServer({ port, dir: dataDir });
      await banner.waitFor({ state: 'detached', timeout: 20_000 });
      await waitForStatus(page, /^1 lines/);
    } finally {
      await b.close();
      await server.stop();
    }
  });
});
