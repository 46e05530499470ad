// LogQL selectors as the query bar sees them: a forgiving tokenizer for
// highlighting and completion (it never fails, whatever is typed), and the
// few edits and reads the UI makes on a query. The server's parser
// (src/query/logql.cc) stays the judge of what is valid.
//
//   selector     = [ "{" [ matcher { "," matcher } ] "}" ] { stage }
//   stage        = line_filter | label_filter
//   matcher      = label_name ( "=" | "!=" | "=~" | "!~" ) string
//   line_filter  = ( "|=" | "!=" | "|~" | "!~" ) string { "or" string }
//   label_filter = "|" label_name ( "=" | "!=" | "=~" | "!~" ) string

export type TokenKind =
  | 'brace' // { or }
  | 'label' // a label name: in a matcher or a label filter stage
  | 'op' // the operator of a matcher or label filter
  | 'pipe' // a line filter operator, or the `|` of a label filter
  | 'keyword' // `or` between line filter alternatives
  | 'string' // "…" or `…`, possibly unterminated
  | 'comma'
  | 'space'
  | 'error'; // a character that fits nowhere

export interface Token {
  kind: TokenKind;
  text: string;
  start: number; // UTF-16 index into the source
  end: number; // exclusive
  inBraces: boolean; // the token lies between { and its }
  unterminated?: boolean; // a string whose closing quote is missing
}

const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_]/;

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let inBraces = false;
  // Outside braces, after a bare `|` comes a label name, then its operator.
  let stage: 'none' | 'label' | 'op' = 'none';
  const push = (kind: TokenKind, end: number, extra: Partial<Token> = {}) => {
    out.push({ kind, text: src.slice(i, end), start: i, end, inBraces, ...extra });
    i = end;
  };
  while (i < src.length) {
    const c = src[i];
    const two = src.slice(i, i + 2);
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      let j = i + 1;
      while (j < src.length && /[ \t\n\r]/.test(src[j])) j++;
      push('space', j);
    } else if (c === '{') {
      push('brace', i + 1);
      inBraces = true;
    } else if (c === '}') {
      inBraces = false;
      push('brace', i + 1);
    } else if (c === ',') {
      push('comma', i + 1);
    } else if (c === '"' || c === '`') {
      let j = i + 1;
      let closed = false;
      while (j < src.length) {
        if (c === '"' && src[j] === '\\') {
          j += 2;
          continue;
        }
        if (src[j] === c) {
          closed = true;
          j++;
          break;
        }
        if (c === '"' && src[j] === '\n') break; // a Go string does not span lines
        j++;
      }
      j = Math.min(j, src.length);
      push('string', j, closed ? {} : { unterminated: true });
      stage = 'none';
    } else if (IDENT_START.test(c)) {
      let j = i + 1;
      while (j < src.length && IDENT.test(src[j])) j++;
      const word = src.slice(i, j);
      if (inBraces || stage === 'label') {
        push('label', j);
        if (!inBraces) stage = 'op';
      } else {
        push(word === 'or' ? 'keyword' : 'error', j);
      }
    } else if ((inBraces || stage === 'op') && (two === '=~' || two === '!~' || two === '!=')) {
      push('op', i + 2);
      stage = 'none';
    } else if ((inBraces || stage === 'op') && c === '=') {
      push('op', i + 1);
      stage = 'none';
    } else if (!inBraces && (two === '|=' || two === '|~' || two === '!=' || two === '!~')) {
      push('pipe', i + 2);
    } else if (!inBraces && c === '|') {
      push('pipe', i + 1);
      stage = 'label';
    } else {
      push('error', i + 1);
    }
  }
  return out;
}

// The text of a string token: Go escapes decoded for "…", raw for `…`.
// An unterminated string gives what was typed so far.
export function decodeString(text: string): string {
  if (text.startsWith('`')) return text.length > 1 && text.endsWith('`') ? text.slice(1, -1) : text.slice(1);
  const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v' };
  let out = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === '"') break;
    if (c !== '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= text.length) break;
    const e = text[++i];
    const n = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
    const hex = text.slice(i + 1, i + 1 + n);
    if (e in simple) {
      out += simple[e];
    } else if (n > 0 && hex.length === n && /^[0-9a-fA-F]+$/.test(hex)) {
      out += String.fromCodePoint(parseInt(hex, 16));
      i += n;
    } else {
      out += '\\' + e;
    }
  }
  return out;
}

// A Go-syntax double-quoted string for `s` (JSON's escapes are Go's too).
export function quoteString(s: string): string {
  return JSON.stringify(s);
}

// Tokens without the spaces between them.
function solid(tokens: Token[]): Token[] {
  return tokens.filter((t) => t.kind !== 'space');
}

export interface Matcher {
  name: string;
  op: string;
  value: string;
  start: number; // span of `name op "value"` in the source
  end: number;
}

// The matchers of the selector's brace block (incomplete ones left out).
export function matchersOf(src: string): Matcher[] {
  const t = solid(tokenize(src)).filter((x) => x.inBraces);
  const out: Matcher[] = [];
  for (let i = 0; i + 2 < t.length; i++) {
    if (t[i].kind === 'label' && t[i + 1].kind === 'op' && t[i + 2].kind === 'string') {
      out.push({ name: t[i].text, op: t[i + 1].text, value: decodeString(t[i + 2].text), start: t[i].start, end: t[i + 2].end });
    }
  }
  return out;
}

// Adds `name="value"` to the selector, or sets the value of an existing
// `name="…"`; a selector without braces gets some. Returns the new source.
export function addMatcher(src: string, name: string, value: string): string {
  const matcher = `${name}=${quoteString(value)}`;
  const existing = matchersOf(src).find((m) => m.name === name && m.op === '=');
  if (existing) {
    if (existing.value === value) return src;
    return src.slice(0, existing.start) + matcher + src.slice(existing.end);
  }
  const tokens = tokenize(src);
  const open = tokens.find((t) => t.kind === 'brace' && t.text === '{');
  if (!open) {
    const rest = src.trim();
    return rest ? `{${matcher}} ${rest}` : `{${matcher}}`;
  }
  const close = tokens.find((t) => t.kind === 'brace' && t.text === '}' && t.start > open.start);
  const inside = solid(tokens).filter((t) => t.start > open.start && (!close || t.start < close.start));
  const insertAt = close ? close.start : src.length;
  // Trim spaces before the insertion point so `{a="b" }` becomes `{a="b", c="d"}`.
  let cut = insertAt;
  while (cut > open.end && /\s/.test(src[cut - 1])) cut--;
  const last = inside[inside.length - 1];
  const sep = !last || last.kind === 'comma' ? '' : ', ';
  const tail = close ? src.slice(insertAt) : '}';
  return src.slice(0, cut) + sep + matcher + tail;
}

export type LineFilterKind = 'contains' | 'not-contains' | 'regex' | 'not-regex';

export interface LineFilter {
  kind: LineFilterKind;
  values: string[]; // the alternatives joined by `or`
}

const PIPE_KINDS: Record<string, LineFilterKind> = { '|=': 'contains', '!=': 'not-contains', '|~': 'regex', '!~': 'not-regex' };

// The line filters after the brace block, in order.
export function lineFiltersOf(src: string): LineFilter[] {
  const t = solid(tokenize(src));
  const out: LineFilter[] = [];
  for (let i = 0; i < t.length; i++) {
    if (t[i].kind !== 'pipe' || t[i + 1]?.kind !== 'string') continue;
    const f: LineFilter = { kind: PIPE_KINDS[t[i].text], values: [decodeString(t[i + 1].text)] };
    i += 1;
    while (t[i + 1]?.kind === 'keyword' && t[i + 2]?.kind === 'string') {
      f.values.push(decodeString(t[i + 2].text));
      i += 2;
    }
    out.push(f);
  }
  return out;
}

export interface ParseErrorInfo {
  line: number; // 1-based
  col: number; // 1-based, in bytes as the server counts
  message: string; // without the position
  index: number; // UTF-16 index into the query where the error points
}

// Reads the server's "1:14: expected string after |=" against the query it
// was about. null when the message carries no position.
export function parseErrorPosition(query: string, serverMessage: string): ParseErrorInfo | null {
  const m = /^(\d+):(\d+): ?([\s\S]*)$/.exec(serverMessage);
  if (!m) return null;
  const line = Number(m[1]);
  const col = Number(m[2]);
  return { line, col, message: m[3], index: byteColumnToIndex(query, line, col) };
}

// The UTF-16 index of a 1-based line and byte column, clamped to the text.
export function byteColumnToIndex(src: string, line: number, col: number): number {
  let i = 0;
  for (let l = 1; l < line; l++) {
    const nl = src.indexOf('\n', i);
    if (nl < 0) return src.length;
    i = nl + 1;
  }
  let bytes = 1;
  while (i < src.length && bytes < col && src[i] !== '\n') {
    const cp = src.codePointAt(i)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp >= 0x10000 ? 2 : 1;
  }
  return i;
}

// True for a metric query (`sum(rate({…}[1m]))`, `count_over_time(…)`, a
// number): anything that is not a log selector or a bare line filter.
export function isMetricQuery(src: string): boolean {
  const t = src.trim();
  return t !== '' && !/^[{|!]/.test(t);
}

// The query with a label filter stage `| name="value"` appended (a parsed
// field clicked in an expanded row).
export function addLabelFilter(src: string, name: string, value: string): string {
  const t = src.trim();
  return `${t || '{}'} | ${name}=${quoteString(value)}`;
}

// Grafana's logs-volume query: matching lines per step by level, for the
// histogram's colours.
export function levelVolumeQuery(src: string, stepMs: number): string {
  let t = src.trim();
  if (t === '') t = '{}';
  else if (!t.startsWith('{')) t = `{} ${t}`;
  const step = Math.max(1, Math.round(stepMs / 1000));
  return `sum by (level, detected_level) (count_over_time(${t} | drop __error__ [${step}s]))`;
}
