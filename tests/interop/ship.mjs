// Ships log lines to a loge server through a real third-party Loki client
// and exits once the client has had every batch acknowledged.
//
//   node ship.mjs <winston|pino> <http://host:port> <lines> <run-id> <base-ms>
//
// Line i (0-based) is "interop <client> line <i> <run-id>", logged at level
// LEVELS[i % 4] with the label shard=<i % 3> and a timestamp of base-ms + i
// milliseconds (pino: the same instant as a 19-digit nanosecond string).
// test_interop.py derives the same expectations and checks them through the
// query API. Nothing here sleeps for a fixed time: completion is signalled
// by the clients themselves (winston-loki's flush() promise, pino's
// transport 'close' after pino-loki's final push). Exit 0 on success; any
// client error is printed and exits 1.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [client, host, linesArg, runId, baseArg] = process.argv.slice(2);
const LINES = Number(linesArg);
const BASE_MS = Number(baseArg);
const LEVELS = ['info', 'warn', 'error', 'debug'];
// Batch interval in seconds: short, so a run sends many batches.
const INTERVAL_S = 0.2;

if (!['winston', 'pino'].includes(client) || !host || !(LINES > 0) || !runId || !(BASE_MS > 0)) {
  console.error('usage: node ship.mjs <winston|pino> <http://host:port> <lines> <run-id> <base-ms>');
  process.exit(2);
}

function fail(what, err) {
  console.error(`ship.mjs ${client}: ${what}:`, err);
  process.exit(1);
}

const message = (i) => `interop ${client} line ${i} ${runId}`;

async function shipWinston() {
  const winston = require('winston');
  const LokiTransport = require('winston-loki');
  const transport = new LokiTransport({
    host,
    labels: { job: 'interop', client: 'winston', run: runId },
    json: false, // protobuf + snappy, the client's default
    batching: true,
    interval: INTERVAL_S,
    replaceTimestamp: false,
    gracefulShutdown: false,
    timeout: 30000,
    format: winston.format.printf((info) => info.message),
    onConnectionError: (err) => fail('push failed', err),
  });
  if (transport.batcher.options.json || transport.batcher.contentType !== 'application/x-protobuf') {
    fail('setup', 'winston-loki fell back to JSON: the snappy package did not load (run npm ci)');
  }
  let logged = 0;
  let allLogged;
  const allLoggedP = new Promise((resolve) => { allLogged = resolve; });
  transport.on('logged', () => { if (++logged === LINES) allLogged(); });
  const logger = winston.createLogger({ level: 'debug', transports: [transport] });
  for (let i = 0; i < LINES; i++) {
    logger.log({ level: LEVELS[i % 4], message: message(i), timestamp: BASE_MS + i, labels: { shard: String(i % 3) } });
  }
  // Every line has reached the transport's batch; flush() resolves once the
  // responses to every batch sent so far have arrived.
  await allLoggedP;
  await transport.flush();
  await transport.close();
  return { client, lines: logged, contentType: transport.batcher.contentType };
}

async function shipPino() {
  const pino = require('pino');
  const { pinoLoki } = await import('pino-loki');
  // pino-loki's transport stream, run in this thread rather than through
  // pino.transport(): thread-stream's worker calls process.exit as soon as
  // the stream closes, which would cut short a batch pino-loki's interval
  // timer still has in flight. Here every in-flight push keeps the event
  // loop alive, so 'beforeExit' means every request has been answered.
  const transport = pinoLoki({
    host,
    batching: { interval: INTERVAL_S, maxBufferSize: 0 }, // 0: never drop the oldest
    labels: { job: 'interop', client: 'pino', run: runId },
    propsToLabels: ['shard'],
    structuredMetaKey: 'meta',
    silenceErrors: false,
    timeout: 30000,
  });
  const closed = new Promise((resolve, reject) => {
    transport.on('close', resolve);
    transport.on('error', reject);
  });
  let i = 0;
  // The time field as a 19-digit nanosecond string: pino-loki passes such a
  // string through unchanged (a number that large would lose precision).
  const logger = pino(
    { level: 'debug', base: { hostname: 'interop-host' }, timestamp: () => `,"time":"${BigInt(BASE_MS + i) * 1000000n}"` },
    transport,
  );
  for (i = 0; i < LINES; i++) {
    logger[LEVELS[i % 4]]({ shard: String(i % 3), meta: { seq: String(i) } }, message(i));
  }
  // Ending the stream makes pino-loki stop its timer and push (and await)
  // what it still buffers.
  transport.end();
  await closed;
  await new Promise((resolve) => process.once('beforeExit', resolve));
  return { client, lines: i };
}

try {
  const summary = client === 'winston' ? await shipWinston() : await shipPino();
  console.log(JSON.stringify(summary));
  process.exit(0);
} catch (err) {
  fail('unexpected error', err);
}
