// What a view of the logs is — a query, a time window, a row limit — and how
// it round-trips through the URL so a link reopens the same view:
//
//   ?q={app="web"} |= "timeout"&since=1h            last hour, relative to now
//   ?q=…&from=2026-06-01T10:00:00.000Z&to=…          an absolute window
//   &limit=500                                        only when not the default
export type TimeRange = { kind: 'relative'; duration: string } | { kind: 'absolute'; startMs: number; endMs: number };

export interface ViewState {
  query: string;
  range: TimeRange;
  limit: number;
}

// Relative windows the picker offers, shortest first.
export const PRESETS = ['5m', '15m', '30m', '1h', '3h', '6h', '12h', '24h', '2d', '7d'] as const;
// Row limits the results toolbar offers; the server allows at most 5000.
export const LIMITS = [100, 500, 1000, 5000] as const;
export const DEFAULT_STATE: ViewState = { query: '', range: { kind: 'relative', duration: '1h' }, limit: 1000 };

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

// "90s", "15m", "1h30m", "2d", "1w" -> milliseconds; null if malformed or zero.
export function parseDuration(s: string): number | null {
  const re = /(\d+(?:\.\d+)?)([smhdw])/g;
  let total = 0;
  let consumed = 0;
  for (let m = re.exec(s); m; m = re.exec(s)) {
    if (m.index !== consumed) return null;
    total += Number(m[1]) * UNIT_MS[m[2]];
    consumed = re.lastIndex;
  }
  return consumed === s.length && consumed > 0 && total > 0 ? total : null;
}

const UNIT_NAMES: Record<string, string> = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week' };

// "1h" -> "Last 1 hour", "15m" -> "Last 15 minutes".
export function describeDuration(d: string): string {
  const m = /^(\d+)([smhdw])$/.exec(d);
  if (!m) return `Last ${d}`;
  const n = Number(m[1]);
  return `Last ${n} ${UNIT_NAMES[m[2]]}${n === 1 ? '' : 's'}`;
}

// The window in milliseconds since the epoch, at `nowMs` for relative ranges.
export function resolveRange(range: TimeRange, nowMs: number): { startMs: number; endMs: number } {
  if (range.kind === 'absolute') return { startMs: range.startMs, endMs: range.endMs };
  const d = parseDuration(range.duration) ?? 3_600_000;
  return { startMs: nowMs - d, endMs: nowMs };
}

// Exact nanoseconds as a decimal string (a double cannot hold them).
export function msToNs(ms: number): string {
  const whole = Math.floor(ms);
  return whole === 0 ? '0' : `${whole}000000`;
}

export function stateToSearch(s: ViewState): string {
  const p = new URLSearchParams();
  if (s.query) p.set('q', s.query);
  if (s.range.kind === 'relative') {
    p.set('since', s.range.duration);
  } else {
    p.set('from', new Date(s.range.startMs).toISOString());
    p.set('to', new Date(s.range.endMs).toISOString());
  }
  if (s.limit !== DEFAULT_STATE.limit) p.set('limit', String(s.limit));
  const out = p.toString();
  return out ? `?${out}` : '';
}

// Reads a view from a URL's search part; anything missing or malformed takes
// its default, so a hand-edited link still opens.
export function stateFromSearch(search: string): ViewState {
  const p = new URLSearchParams(search);
  const query = p.get('q') ?? '';
  let range: TimeRange = DEFAULT_STATE.range;
  const since = p.get('since');
  const from = Date.parse(p.get('from') ?? '');
  const to = Date.parse(p.get('to') ?? '');
  if (!Number.isNaN(from) && !Number.isNaN(to) && from <= to) {
    range = { kind: 'absolute', startMs: from, endMs: to };
  } else if (since && parseDuration(since) !== null) {
    range = { kind: 'relative', duration: since };
  }
  const limitParam = Number(p.get('limit'));
  const limit = (LIMITS as readonly number[]).includes(limitParam) ? limitParam : DEFAULT_STATE.limit;
  return { query, range, limit };
}

export function sameState(a: ViewState, b: ViewState): boolean {
  return stateToSearch(a) === stateToSearch(b);
}

// A window shrunk to [fromFrac, toFrac] of itself (fractions of its width,
// in either order), as an absolute range; at least 1 ms wide.
export function narrowRange(startMs: number, endMs: number, fromFrac: number, toFrac: number): TimeRange {
  const [a, b] = fromFrac <= toFrac ? [fromFrac, toFrac] : [toFrac, fromFrac];
  const clamp = (f: number) => Math.min(1, Math.max(0, f));
  const span = endMs - startMs;
  const s = Math.floor(startMs + clamp(a) * span);
  const e = Math.max(s + 1, Math.ceil(startMs + clamp(b) * span));
  return { kind: 'absolute', startMs: s, endMs: e };
}

// The window twice as wide around the same middle (the histogram's zoom out),
// never reaching past `nowMs`.
export function widenRange(startMs: number, endMs: number, nowMs: number): TimeRange {
  const span = Math.max(endMs - startMs, 1);
  const mid = (startMs + endMs) / 2;
  const e = Math.max(endMs, Math.min(nowMs, mid + span));
  return { kind: 'absolute', startMs: Math.floor(e - 2 * span), endMs: Math.ceil(e) };
}

// Histogram steps, in ms: round numbers a person reads at a glance.
const STEPS_MS = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000,
  1_800_000, 3_600_000, 7_200_000, 10_800_000, 21_600_000, 43_200_000, 86_400_000,
];

// The smallest round step that cuts the window into at most `maxBars` bars.
export function chooseStep(spanMs: number, maxBars = 120): number {
  for (const s of STEPS_MS) if (spanMs / s <= maxBars) return s;
  return Math.ceil(spanMs / maxBars / 86_400_000) * 86_400_000;
}
