// Shared fixtures for the browser tests: the real loge binary on a free port
// in a fresh directory, pushes, and Debian's Chromium driven by
// playwright-core (never a downloaded browser).
//
// LOGE_BIN names the binary (ctest passes the built target);
// LOGE_E2E_ARTIFACTS the directory screenshots go to.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.LOGE_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = process.env.LOGE_E2E_ARTIFACTS ?? join(tmpdir(), 'loge-e2e-artifacts');
// Deadlines: generous, because ctest runs suites side by side on two cores.
export const START_TIMEOUT_MS = 30_000;
export const UI_TIMEOUT_MS = 15_000;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

function logeBin() {
  const bin = process.env.LOGE_BIN ?? '/work/main/build/release/loge';
  return bin;
}

// Starts `loge serve` on port 0 (or `port`); resolves once it logs its port.
export async function startServer({ apiKey = '', port = 0, dir = null } = {}) {
  const dataDir = dir ?? mkdtempSync(join(tmpdir(), 'loge-e2e-data-'));
  const args = ['serve', '--port', String(port), '--output-path', dataDir, '--flush-interval', '200ms'];
  if (apiKey) args.push('--api-key', apiKey);
  const proc = spawn(logeBin(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const listening = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`loge did not start within ${START_TIMEOUT_MS} ms:\n${log}`)), START_TIMEOUT_MS);
    const onData = (chunk) => {
      log += chunk;
      const m = /listening on \S+:(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`loge exited with ${code} before listening:\n${log}`));
    });
  });
  const boundPort = await listening;
  const server = {
    port: boundPort,
    url: `http://127.0.0.1:${boundPort}`,
    dataDir,
    apiKey,
    async stop({ keepData = false } = {}) {
      if (proc.exitCode === null) {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      }
      if (!keepData) rmSync(dataDir, { recursive: true, force: true });
      // Under `make test-asan` the binary reports memory errors and leaks here.
      if (/Sanitizer|runtime error:/.test(log)) throw new Error(`loge reported a sanitizer error:\n${log.slice(-4000)}`);
    },
  };
  return server;
}

// Unix ns as a decimal string for `ms` (a double cannot hold ns exactly).
export function ns(ms) {
  return `${BigInt(Math.floor(ms)) * 1000000n}`;
}

// Pushes streams: [{labels, lines: [[ms, line], [ms, line, {metadata}], …]}].
export async function push(server, streams) {
  const body = {
    streams: streams.map((s) => ({
      stream: s.labels,
      values: s.lines.map(([ms, line, meta]) => (meta ? [ns(ms), line, meta] : [ns(ms), line])),
    })),
  };
  const res = await fetch(`${server.url}/api/v1/push`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status !== 200 && res.status !== 202) throw new Error(`push: HTTP ${res.status} ${await res.text()}`);
}

// A fresh Chromium profile per call; close() removes it.
export async function openBrowser({ colorScheme = 'light', viewport = { width: 1280, height: 800 } } = {}) {
  const profile = mkdtempSync(join(tmpdir(), 'loge-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS, // playwright adds --user-data-dir=<profile>
    colorScheme,
    viewport,
    timeout: START_TIMEOUT_MS,
  });
  context.setDefaultTimeout(UI_TIMEOUT_MS);
  const page = context.pages()[0] ?? (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

// Polls `fn` until it returns a truthy value, or fails at the deadline.
export async function waitFor(fn, what, timeoutMs = UI_TIMEOUT_MS) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
