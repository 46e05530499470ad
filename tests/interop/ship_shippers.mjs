// Ships log lines to a loge server through a real third-party OpenTelemetry
// or Elasticsearch client and exits once the client reports every batch
// acknowledged.
//
//   node ship_shippers.mjs <otel-proto|otel-json|es-bulk> <http://host:port> <lines> <run-id> <base-ms>
//
// Line i (0-based) is "interop <client> line <i> <run-id>", at base-ms + i
// milliseconds, with level LEVELS[i % 4] and the attribute/field seq=<i>
// and shard=<i % 3>. test_shippers_interop.py derives the same expectations
// and checks them through the query API.
//
//   otel-*   the OpenTelemetry JS SDK's LoggerProvider with a
//            BatchLogRecordProcessor and the OTLP HTTP log exporter
//            (exporter-logs-otlp-proto: protobuf; exporter-logs-otlp-http:
//            JSON) posting to <host>/otlp/v1/logs; each record carries a span
//            context (trace and span id) and resource attributes
//            service.name=interop-otel, service.namespace=<run-id>,
//            host.name=interop-host. forceFlush() resolves once every export
//            has been answered; a failed export is recorded and exits 1.
//   es-bulk  the official Elasticsearch client: info() (the GET / probe),
//            then helpers.bulk() with `create` actions into the index
//            interop-<run-id>; documents {@timestamp, message, app: <run-id>,
//            host.name, log.level, seq, shard}. The helper resolves with its
//            stats once every bulk request has been answered; any dropped
//            document exits 1.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const [client, host, linesArg, runId, baseArg] = process.argv.slice(2);
const LINES = Number(linesArg);
const BASE_MS = Number(baseArg);
const LEVELS = ['info', 'warn', 'error', 'debug'];
// OTLP SeverityNumber of each level.
const SEVERITY = { info: 9, warn: 13, error: 17, debug: 5 };
export const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
export const SPAN_ID = 'b7ad6b7169203331';

if (!['otel-proto', 'otel-json', 'es-bulk'].includes(client) || !host || !(LINES > 0) || !runId || !(BASE_MS > 0)) {
  console.error('usage: node ship_shippers.mjs <otel-proto|otel-json|es-bulk> <http://host:port> <lines> <run-id> <base-ms>');
  process.exit(2);
}

function fail(what, err) {
  console.error(`ship_shippers.mjs ${client}: ${what}:`, err);
  process.exit(1);
}

const message = (i) => `interop ${client} line ${i} ${runId}`;

async function shipOtel() {
  const { context, trace, TraceFlags } = require('@opentelemetry/api');
  const { LoggerProvider, BatchLogRecordProcessor } = require('@opentelemetry/sdk-logs');
  const { resourceFromAttributes } = require('@opentelemetry/resources');
  const { OTLPLogExporter } =
    client === 'otel-proto' ? require('@opentelemetry/exporter-logs-otlp-proto') : require('@opentelemetry/exporter-logs-otlp-http');
  const exporter = new OTLPLogExporter({ url: `${host}/otlp/v1/logs`, timeoutMillis: 30000 });
  // Record every export's outcome: the SDK only logs failures.
  const failures = [];
  let exports = 0;
  const exportOrig = exporter.export.bind(exporter);
  exporter.export = (records, done) =>
    exportOrig(records, (result) => {
      exports++;
      if (result.code !== 0) failures.push(result.error ?? result);
      done(result);
    });
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({
      'service.name': 'interop-otel',
      'service.namespace': runId,
      'host.name': 'interop-host',
    }),
    processors: [
      new BatchLogRecordProcessor({ exporter, maxExportBatchSize: 500, scheduledDelayMillis: 200, maxQueueSize: LINES + 1 }),
    ],
  });
  const logger = provider.getLogger('interop-scope', '1.2.3');
  const ctx = trace.setSpanContext(context.active(), { traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: TraceFlags.SAMPLED });
  for (let i = 0; i < LINES; i++) {
    const ms = BASE_MS + i;
    const level = LEVELS[i % 4];
    logger.emit({
      timestamp: [Math.floor(ms / 1000), (ms % 1000) * 1e6],
      severityNumber: SEVERITY[level],
      severityText: level.toUpperCase(),
      body: message(i),
      attributes: { seq: i, shard: String(i % 3), 'http.route': '/checkout' },
      context: ctx,
    });
  }
  await provider.forceFlush();
  await provider.shutdown();
  if (failures.length > 0) fail(`${failures.length} of ${exports} exports failed`, failures[0]);
  return { client, lines: LINES, exports };
}

async function shipEs() {
  const { Client } = require('@elastic/elasticsearch');
  const es = new Client({ node: host, requestTimeout: 30000, maxRetries: 5 });
  const info = await es.info();
  const docs = [];
  for (let i = 0; i < LINES; i++) {
    docs.push({
      '@timestamp': new Date(BASE_MS + i).toISOString(),
      message: message(i),
      app: runId,
      host: { name: 'interop-host' },
      log: { level: LEVELS[i % 4] },
      seq: i,
      shard: String(i % 3),
    });
  }
  let dropped = 0;
  const stats = await es.helpers.bulk({
    datasource: docs,
    onDocument: () => ({ create: { _index: `interop-${runId}` } }),
    onDrop: (d) => {
      dropped++;
      console.error('dropped', JSON.stringify(d).slice(0, 300));
    },
    flushBytes: 64 * 1024,
    retries: 3,
  });
  if (dropped > 0 || stats.failed > 0) fail('documents were dropped', stats);
  await es.close();
  return { client, lines: stats.successful, version: info.version.number };
}

try {
  const summary = client === 'es-bulk' ? await shipEs() : await shipOtel();
  console.log(JSON.stringify(summary));
  process.exit(0);
} catch (err) {
  fail('unexpected error', err);
}
