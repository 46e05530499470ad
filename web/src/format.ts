// How times, counts and lines are shown. Timestamps are in the browser's
// local time zone.

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

// Unix ms -> "2026-06-01 14:03:07.123" in local time.
export function formatTimestamp(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`
  );
}

// A histogram axis label: the time of day, with the date when the window
// spans more than a day, and milliseconds when the step is below a second.
export function formatAxisTime(ms: number, spanMs: number, stepMs: number): string {
  const d = new Date(ms);
  let s = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (spanMs < 3_600_000 * 6) s += `:${pad(d.getSeconds())}`;
  if (stepMs < 1000) s += `.${pad(d.getMilliseconds(), 3)}`;
  if (spanMs > 86_400_000) s = `${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${s}`;
  return s;
}

// Value for <input type="datetime-local" step="1">, local time, to the second.
export function toLocalInput(ms: number): string {
  const d = new Date(ms);
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  );
}

// The inverse of toLocalInput; NaN when empty or malformed.
export function fromLocalInput(v: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?$/.exec(v);
  if (!m) return NaN;
  const [y, mo, d, h, mi, s, ms] = m.slice(1).map((x) => Number(x ?? 0));
  return new Date(y, mo - 1, d, h, mi, s, ms).getTime();
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

// Pretty-printed JSON if the line is a JSON object or array, else null.
export function prettyJson(line: string): string | null {
  const t = line.trim();
  if (!(t.startsWith('{') && t.endsWith('}')) && !(t.startsWith('[') && t.endsWith(']'))) return null;
  try {
    return JSON.stringify(JSON.parse(t), null, 2);
  } catch {
    return null;
  }
}
