"""Ships log lines to a loge server through the OpenTelemetry Python SDK's
OTLP/HTTP protobuf log exporter (opentelemetry-exporter-otlp-proto-http,
gzip-compressed) and exits once every export has been acknowledged.

    .venv/bin/python ship_otel.py <http://host:port> <lines> <run-id> <base-ms>

Line i (0-based) is "interop otel-python line <i> <run-id>" at base-ms + i
milliseconds, severity WARN (13) when i is odd else INFO (9), with the
attributes seq=<i> and code.function=ship; resource service.name=
interop-otel-py, service.namespace=<run-id>. Prints a JSON summary; exit 1
if any export failed. Run by test_shippers_interop.py with the venv that
scripts/install-deps.sh builds from requirements.txt."""

import json
import sys

from opentelemetry._logs import SeverityNumber
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource


def main():
    host, lines, run_id, base_ms = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    exporter = OTLPLogExporter(endpoint=f"{host}/otlp/v1/logs", compression=Compression.Gzip, timeout=30)
    results = []
    export = exporter.export

    def recording_export(batch):
        r = export(batch)
        results.append(r)
        return r

    exporter.export = recording_export
    provider = LoggerProvider(resource=Resource.create({"service.name": "interop-otel-py",
                                                        "service.namespace": run_id}))
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter, max_queue_size=lines + 1,
                                                              max_export_batch_size=500, schedule_delay_millis=200))
    logger = provider.get_logger("interop-python", "0.1")
    for i in range(lines):
        warn = i % 2 == 1
        logger.emit(timestamp=(base_ms + i) * 1_000_000,
                    severity_number=SeverityNumber.WARN if warn else SeverityNumber.INFO,
                    severity_text="WARN" if warn else "INFO",
                    body=f"interop otel-python line {i} {run_id}",
                    attributes={"seq": i, "code.function": "ship"})
    ok = provider.force_flush(60_000)
    provider.shutdown()
    failed = [r for r in results if r.name != "SUCCESS"]
    print(json.dumps({"client": "otel-python", "lines": lines, "exports": len(results), "flushed": ok}))
    if failed or not ok:
        print(f"{len(failed)} of {len(results)} exports failed", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
