// Result rows as the UI keeps them, and the live tail's buffer: new rows are
// merged in newest first, repeats (a poll overlaps the previous one by a
// millisecond) are dropped, and the buffer is capped.

export interface Row {
  id: number; // unique for the page's lifetime: the list's key
  tsNs: number; // unix ns as a double: exact to ~256 ns, enough to order and show
  line: string;
  labels: Record<string, string>;
  metadata?: Record<string, unknown>;
  parsed?: Record<string, string>; // labels the query's parsers and formatters added
}

export interface ApiRow {
  timestamp: number;
  line: string;
  labels: Record<string, string>;
  metadata?: Record<string, unknown>;
  parsed?: Record<string, string>;
}

let nextId = 1;

// The millisecond a row falls in. `tsNs` came through JSON as a double and may
// sit up to ~256 ns below the true value, so x.306000000 can arrive as
// x.305999744: round to the microsecond first, then take the millisecond.
export function rowMs(r: Row): number {
  return Math.floor(Math.round(r.tsNs / 1e3) / 1e3);
}

export function toRows(data: ApiRow[]): Row[] {
  return data.map((d) => ({
    id: nextId++,
    tsNs: d.timestamp,
    line: d.line,
    labels: d.labels ?? {},
    metadata: d.metadata,
    parsed: d.parsed,
  }));
}

// Rows a live tail keeps at most; older ones drop off the end.
export const TAIL_CAP = 5000;

// Identifies a row across polls (the same line at the same time in the same
// stream is the same row).
export function rowKey(r: Row): string {
  return `${r.tsNs}\u0000${JSON.stringify(r.labels)}\u0000${r.line}`;
}

// `incoming` (newest first) merged before `existing` (newest first) without
// rows already there; returns the new buffer and how many rows were new.
export function mergeTail(existing: Row[], incoming: Row[], cap = TAIL_CAP): { rows: Row[]; added: number } {
  if (incoming.length === 0) return { rows: existing, added: 0 };
  const oldest = incoming[incoming.length - 1].tsNs;
  const seen = new Set<string>();
  for (const r of existing) {
    if (r.tsNs < oldest) break;
    seen.add(rowKey(r));
  }
  const fresh = incoming.filter((r) => !seen.has(rowKey(r)));
  const rows = fresh.concat(existing);
  rows.sort((a, b) => b.tsNs - a.tsNs);
  return { rows: rows.length > cap ? rows.slice(0, cap) : rows, added: fresh.length };
}

// Labels every row shares, which the results header shows once.
export function commonLabels(rows: Row[]): Record<string, string> {
  if (rows.length === 0) return {};
  const out: Record<string, string> = { ...rows[0].labels };
  for (const r of rows) {
    for (const k of Object.keys(out)) if (r.labels[k] !== out[k]) delete out[k];
    if (Object.keys(out).length === 0) break;
  }
  return out;
}
