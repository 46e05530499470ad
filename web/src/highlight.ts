// The parts of a line that the query's positive line filters matched, so
// they can be marked: every occurrence of each |= alternative, and every
// match of each |~ regex. Negative filters match nothing to mark.
import { LineFilter } from './logql';

export interface Segment {
  text: string;
  match: boolean;
}

// A Go (RE2) regex as a JavaScript one, or null when JavaScript cannot read
// it. A leading (?i) or (?s) becomes a flag; the rest of the common syntax is
// shared.
export function toJsRegex(src: string): RegExp | null {
  let flags = 'g';
  let body = src;
  const lead = /^\(\?([is]+)\)/.exec(body);
  if (lead) {
    flags += [...new Set(lead[1])].join('');
    body = body.slice(lead[0].length);
  }
  try {
    return new RegExp(body, flags);
  } catch {
    return null;
  }
}

// Compiled once per query: the matchers for highlightSegments.
export type Highlighter = (line: string) => Array<[number, number]>;

export function makeHighlighter(filters: LineFilter[]): Highlighter {
  const needles: string[] = [];
  const regexes: RegExp[] = [];
  for (const f of filters) {
    if (f.kind === 'contains') needles.push(...f.values.filter((v) => v !== ''));
    if (f.kind === 'regex') {
      for (const v of f.values) {
        const re = toJsRegex(v);
        if (re) regexes.push(re);
      }
    }
  }
  return (line) => {
    const ranges: Array<[number, number]> = [];
    for (const n of needles) {
      for (let i = line.indexOf(n); i >= 0; i = line.indexOf(n, i + n.length)) ranges.push([i, i + n.length]);
    }
    for (const re of regexes) {
      re.lastIndex = 0;
      // A bound on matches per line keeps a pathological regex from stalling rendering.
      for (let m = re.exec(line), k = 0; m && k < 1000; m = re.exec(line), k++) {
        if (m[0].length === 0) {
          re.lastIndex++;
          continue;
        }
        ranges.push([m.index, m.index + m[0].length]);
      }
    }
    return mergeRanges(ranges);
  };
}

// Sorted, with overlapping and touching ranges joined.
export function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

export function highlightSegments(line: string, h: Highlighter): Segment[] {
  const out: Segment[] = [];
  let at = 0;
  for (const [s, e] of h(line)) {
    if (s > at) out.push({ text: line.slice(at, s), match: false });
    out.push({ text: line.slice(s, e), match: true });
    at = e;
  }
  if (at < line.length || out.length === 0) out.push({ text: line.slice(at), match: false });
  return out;
}
