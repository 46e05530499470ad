// Builds the web UI into ../webdist/, which is committed and compiled into
// the loge binary (web/embed.cmake), so running loge needs no Node.
//
//   node scripts/build.mjs           rebuild webdist/ (what `make web` runs)
//   node scripts/build.mjs --check   build into a temporary directory and
//                                    fail if webdist/ differs from it
//
// Output: index.html, plus assets/app-<hash>.js and assets/app-<hash>.css,
// named by content hash so the server can let browsers cache them forever.
// Every file also gets a gzip (level 9) twin `<name>.gz` that the server
// sends to clients that accept gzip. The build is deterministic: the same
// sources give the same bytes. The check compares gzip twins by their
// content, so a different zlib build cannot fail it.
import * as esbuild from 'esbuild';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, gunzipSync, gzipSync } from 'node:zlib';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const webdist = resolve(root, '..', 'webdist');

// A small "l" mark for the tab, inline so the bundle stays two assets.
const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E" +
  "%3Crect width='32' height='32' rx='7' fill='%231d5bbf'/%3E" +
  "%3Cpath d='M11 7h4v14h8v4H11z' fill='white'/%3E%3C/svg%3E";

async function build(outDir) {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(join(outDir, 'assets'), { recursive: true });
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: 'src/main.tsx' },
    outdir: join(outDir, 'assets'),
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    charset: 'utf8',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((p) => basename(p));
  const js = outputs.find((f) => f.endsWith('.js'));
  const css = outputs.find((f) => f.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild produced ${outputs.join(', ')}: want one .js and one .css`);
  writeFileSync(
    join(outDir, 'index.html'),
    `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>loge</title>
<link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="/assets/${css}">
<script type="module" src="/assets/${js}"></script>
</head>
<body>
<div id="app"></div>
<noscript>The loge web UI needs JavaScript. The HTTP API works without it (see README.md).</noscript>
</body>
</html>
`,
  );
  for (const f of listFiles(outDir)) {
    const data = readFileSync(join(outDir, f));
    writeFileSync(join(outDir, `${f}.gz`), gzipSync(data, { level: constants.Z_BEST_COMPRESSION }));
  }
}

function listFiles(dir, base = dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, base));
    else out.push(relative(base, p));
  }
  return out;
}

// The file's content, with gzip twins decompressed.
function content(dir, f) {
  const data = readFileSync(join(dir, f));
  return f.endsWith('.gz') ? gunzipSync(data) : data;
}

if (process.argv.includes('--check')) {
  const fresh = mkdtempSync(join(tmpdir(), 'loge-webdist-'));
  try {
    await build(fresh);
    const want = listFiles(fresh);
    let have = [];
    try {
      have = listFiles(webdist);
    } catch {
      // No webdist/ at all: every file below is missing.
    }
    const problems = [];
    for (const f of want) if (!have.includes(f)) problems.push(`missing: webdist/${f}`);
    for (const f of have) if (!want.includes(f)) problems.push(`stale: webdist/${f}`);
    for (const f of want) {
      if (have.includes(f) && !content(webdist, f).equals(content(fresh, f))) problems.push(`differs: webdist/${f}`);
    }
    if (problems.length > 0) {
      console.error(`webdist/ does not match a fresh build of web/:\n  ${problems.join('\n  ')}\nRun \`make web\` and commit webdist/.`);
      process.exit(1);
    }
    console.log(`webdist/ matches a fresh build (${want.length} files)`);
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
} else {
  await build(webdist);
  for (const f of listFiles(webdist)) console.log(`webdist/${f}  ${statSync(join(webdist, f)).size} bytes`);
}
