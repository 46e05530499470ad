// Autocompletion for the query bar: where the cursor is in a selector, what
// fits there (label names, label values, line filters), and the edit that
// accepting a suggestion makes. Pure functions; the component fetches names
// and values and draws the list.
import { Token, decodeString, quoteString, tokenize } from './logql';

export type CompletionContext =
  | { kind: 'start'; from: number; to: number } // empty query: begin a selector
  | { kind: 'label-name'; prefix: string; from: number; to: number; opFollows: boolean }
  | { kind: 'label-value'; label: string; prefix: string; from: number; to: number; closeBrace: boolean }
  | { kind: 'line-filter'; from: number; to: number; needsSpace: boolean }
  | { kind: 'none' };

export interface Suggestion {
  label: string; // what the list shows
  detail: string; // a short hint beside it
  text: string; // replaces [from, to)
  from: number;
  to: number;
  cursor: number; // where the cursor goes, as an offset into `text`
}

// Suggestions a list shows at most: more is noise, and a long list of label
// values (hosts, pods) is narrowed by typing.
export const MAX_SUGGESTIONS = 50;

export function completionContext(src: string, cursor: number): CompletionContext {
  if (src.trim() === '') return { kind: 'start', from: 0, to: src.length };
  const tokens = tokenize(src);
  // The word the cursor is in or just after: a label name being typed, or
  // the inside of a string. Anywhere else the cursor is between tokens.
  const cur = tokens.find(
    (t) => t.start < cursor && cursor <= t.end && (t.kind === 'label' || (t.kind === 'string' && (t.unterminated || cursor < t.end))),
  );
  const solidBefore = tokens.filter((t) => t.kind !== 'space' && t.end <= (cur ? cur.start : cursor));
  const prev = solidBefore[solidBefore.length - 1];
  const prev2 = solidBefore[solidBefore.length - 2];
  const braceOpenAfter = (at: number) => !tokens.some((t) => t.kind === 'brace' && t.text === '}' && t.start >= at);

  if (cur) {
    if (cur.kind === 'string' && prev?.kind === 'op' && prev2?.kind === 'label') {
      return {
        kind: 'label-value',
        label: prev2.text,
        prefix: decodeString(src.slice(cur.start, cursor)),
        from: cur.start,
        to: cur.end,
        closeBrace: cur.inBraces && braceOpenAfter(cur.end),
      };
    }
    if (cur.kind === 'label' && isMatcherStart(prev)) {
      return {
        kind: 'label-name',
        prefix: src.slice(cur.start, cursor),
        from: cur.start,
        to: cur.end,
        opFollows: nextSolid(tokens, cur.end)?.kind === 'op',
      };
    }
    return { kind: 'none' };
  }
  const inBraces = prev !== undefined && (isOpenBrace(prev) || (prev.inBraces && prev.kind !== 'brace'));
  if ((inBraces && isMatcherStart(prev)) || isBarePipe(prev)) {
    return { kind: 'label-name', prefix: '', from: cursor, to: cursor, opFollows: nextSolid(tokens, cursor)?.kind === 'op' };
  }
  if (prev?.kind === 'op' && prev2?.kind === 'label') {
    return { kind: 'label-value', label: prev2.text, prefix: '', from: cursor, to: cursor, closeBrace: inBraces && braceOpenAfter(cursor) };
  }
  const afterSelector = prev !== undefined && !inBraces && ((prev.kind === 'brace' && prev.text === '}') || (prev.kind === 'string' && !prev.unterminated));
  if (afterSelector && !nextSolid(tokens, cursor)) {
    return { kind: 'line-filter', from: cursor, to: cursor, needsSpace: !/\s/.test(src[cursor - 1] ?? ' ') };
  }
  return { kind: 'none' };
}

function isOpenBrace(t: Token | undefined): boolean {
  return t?.kind === 'brace' && t.text === '{';
}

// After `{` or `,` a label name starts; so it does after the `|` of a label filter.
function isMatcherStart(t: Token | undefined): boolean {
  return isOpenBrace(t) || t?.kind === 'comma' || isBarePipe(t);
}

function isBarePipe(t: Token | undefined): boolean {
  return t?.kind === 'pipe' && t.text === '|';
}

function nextSolid(tokens: Token[], at: number): Token | undefined {
  return tokens.find((t) => t.kind !== 'space' && t.start >= at);
}

// Items that start with the prefix (case-insensitively) first, then items
// that contain it; each group keeps the input order.
export function rankByPrefix(items: string[], prefix: string): string[] {
  const p = prefix.toLowerCase();
  const starts: string[] = [];
  const contains: string[] = [];
  for (const it of items) {
    const l = it.toLowerCase();
    if (l.startsWith(p)) starts.push(it);
    else if (p && l.includes(p)) contains.push(it);
  }
  return starts.concat(contains);
}

const LINE_FILTERS: Array<[string, string]> = [
  ['|=', 'line contains'],
  ['!=', 'line does not contain'],
  ['|~', 'line matches regex'],
  ['!~', 'line does not match regex'],
];

// What the list offers in this context. `values` are those of the context's
// label (the caller fetches them); `history` feeds the empty-query list.
export function suggest(ctx: CompletionContext, labelNames: string[], values: string[], history: string[] = []): Suggestion[] {
  switch (ctx.kind) {
    case 'start': {
      const fromHistory = history.map((q) => ({ label: q, detail: 'recent', text: q, from: ctx.from, to: ctx.to, cursor: q.length }));
      const fromLabels = labelNames.map((n) => {
        const text = `{${n}=""}`;
        return { label: n, detail: 'label', text, from: ctx.from, to: ctx.to, cursor: n.length + 3 };
      });
      return fromHistory.concat(fromLabels).slice(0, MAX_SUGGESTIONS);
    }
    case 'label-name':
      return rankByPrefix(labelNames, ctx.prefix)
        .slice(0, MAX_SUGGESTIONS)
        .map((n) => {
          const text = ctx.opFollows ? n : `${n}=""`;
          return { label: n, detail: 'label', text, from: ctx.from, to: ctx.to, cursor: ctx.opFollows ? n.length : n.length + 2 };
        });
    case 'label-value':
      return rankByPrefix(values, ctx.prefix)
        .slice(0, MAX_SUGGESTIONS)
        .map((v) => {
          const quoted = quoteString(v);
          const text = ctx.closeBrace ? quoted + '}' : quoted;
          return { label: v, detail: ctx.label, text, from: ctx.from, to: ctx.to, cursor: quoted.length };
        });
    case 'line-filter':
      return LINE_FILTERS.map(([op, detail]) => {
        const text = `${ctx.needsSpace ? ' ' : ''}${op} ""`;
        return { label: `${op} "…"`, detail, text, from: ctx.from, to: ctx.to, cursor: text.length - 1 };
      });
    case 'none':
      return [];
  }
}

// The query and cursor after accepting `s`.
export function applySuggestion(src: string, s: Suggestion): { text: string; cursor: number } {
  return { text: src.slice(0, s.from) + s.text + src.slice(s.to), cursor: s.from + s.cursor };
}
